// One JSON object per line, parsed with simdjson's DOM API into the values of bound fields. The DOM
// parser validates the whole line (On-Demand would skip unbound values without checking them),
// so a line is malformed exactly when it is not one valid JSON object.
// Internal; included as "formats/json_line_parser.hpp".
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <vector>

#include "spate/detail/json_lines_source.hpp"

namespace spate::detail {

/// Parses lines into the values of a fixed list of fields; reuses its buffers, so one per task.
/// Not thread-safe.
class JsonLineParser {
 public:
  explicit JsonLineParser(std::vector<JsonFieldSpec> fields);

  /// Parses [line, line + size), which must have capacity - size >= 64 readable bytes after it,
  /// into values (one per field, in their order; strings valid until the next call). Returns
  /// no problem, or what is wrong: not JSON, not UTF-8, not an object, trailing bytes, or a field
  /// (its index) missing, null, of another type, out of range or given twice.
  RowProblem parse(const char* line, std::size_t size, std::size_t capacity, JsonValue* values);

  const std::vector<JsonFieldSpec>& fields() const noexcept { return fields_; }

 private:
  /// The index of the field named key, or fields_.size().
  std::size_t find(std::string_view key) noexcept;
  RowProblem read_value(simdjson::dom::element value, std::size_t i, JsonValue& out);

  std::vector<JsonFieldSpec> fields_;
  std::vector<unsigned char> seen_;
  std::size_t next_ = 0;  // where find() starts looking: the field after the one found last
  simdjson::dom::parser parser_;
};

}  // namespace spate::detail
