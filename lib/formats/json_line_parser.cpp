// simdjson glue: a line to the bound fields' values, every failure a reason (never an exception).
#include "formats/json_line_parser.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace spate::detail {

namespace {

/// name == key, compared in line: keys are short, and a call to memcmp per key cost more.
inline bool same_key(const std::string& name, std::string_view key) noexcept {
  if (name.size() != key.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (name[i] != key[i]) return false;
  return true;
}

RowProblem problem(simdjson::error_code code, std::size_t field = RowProblem::kNoField) {
  return RowProblem{simdjson::error_message(code), field};
}

}  // namespace

JsonLineParser::JsonLineParser(std::vector<JsonFieldSpec> fields)
    : fields_(std::move(fields)), seen_(fields_.size()) {}

std::size_t JsonLineParser::find(std::string_view key) noexcept {
  // The lines of a file mostly list their fields in one order: start at the field after the
  // one found last, so that a line costs about one comparison per key.
  const std::size_t n = fields_.size();
  std::size_t i = next_;
  for (std::size_t tried = 0; tried < n; ++tried, i = i + 1 == n ? 0 : i + 1) {
    if (same_key(fields_[i].name, key)) {
      next_ = i + 1 == n ? 0 : i + 1;
      return i;
    }
  }
  return n;
}

RowProblem JsonLineParser::read_value(simdjson::dom::element value, std::size_t i, JsonValue& out) {
  using simdjson::error_code;
  if (value.is_null()) {
    if (!fields_[i].optional) return {"null, where a value is required", i};
    out.present = false;
    return {};
  }
  error_code e = simdjson::SUCCESS;
  const char* wrong_type = nullptr;
  switch (fields_[i].kind) {
    case JsonKind::integer:
      e = value.get_int64().get(out.integer);
      wrong_type = "not an integer";
      break;
    case JsonKind::unsigned_integer:
      e = value.get_uint64().get(out.unsigned_integer);
      wrong_type = "not a non-negative integer";
      break;
    case JsonKind::floating:
      e = value.get_double().get(out.floating);
      wrong_type = "not a number";
      break;
    case JsonKind::boolean:
      e = value.get_bool().get(out.boolean);
      wrong_type = "not true or false";
      break;
    case JsonKind::string:
      e = value.get_string().get(out.string);
      wrong_type = "not a string";
      break;
  }
  if (e == simdjson::INCORRECT_TYPE) return {wrong_type, i};
  if (e == simdjson::NUMBER_OUT_OF_RANGE) return {"number out of range", i};
  if (e != simdjson::SUCCESS) return problem(e, i);
  out.present = true;
  return {};
}

RowProblem JsonLineParser::parse(const char* line, std::size_t size, std::size_t capacity, JsonValue* values) {
  if (capacity < size + simdjson::SIMDJSON_PADDING) return {"internal error: too little padding after the line"};
  simdjson::dom::element doc;
  // realloc_if_needed = false: the caller's padding lets simdjson read the line in place.
  if (auto e = parser_.parse(line, size, false).get(doc); e != simdjson::SUCCESS) return problem(e);
  simdjson::dom::object object;
  if (auto e = doc.get_object().get(object); e != simdjson::SUCCESS)
    return e == simdjson::INCORRECT_TYPE ? RowProblem{"not a JSON object"} : problem(e);
  std::fill(seen_.begin(), seen_.end(), 0);
  for (simdjson::dom::key_value_pair field : object) {
    const std::size_t i = find(field.key);
    if (i == fields_.size()) continue;
    if (seen_[i]) return {"the field appears twice", i};
    seen_[i] = 1;
    values[i] = JsonValue{};
    if (RowProblem p = read_value(field.value, i, values[i])) return p;
  }
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (seen_[i]) continue;
    if (!fields_[i].optional) return {"missing field", i};
    values[i] = JsonValue{};
  }
  return {};
}

}  // namespace spate::detail
