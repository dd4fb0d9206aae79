// Typed values from field text, for the CSV reader's columns.
#include "spate/detail/text_field.hpp"

#include <charconv>
#include <limits>
#include <system_error>

namespace spate::detail {

namespace {

/// from_chars refuses a leading '+', which spreadsheets and Spark accept; drop it (once).
std::string_view without_plus(std::string_view text) noexcept {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

template <class I>
FieldProblem parse_integer(std::string_view text, I& out) noexcept {
  if (text.empty()) return "empty, where an integer is expected";
  text = without_plus(text);
  I value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec == std::errc::result_out_of_range) return "integer out of the column type's range";
  if (ec != std::errc{} || end != text.data() + text.size()) return "not an integer";
  out = value;
  return nullptr;
}

template <class F>
FieldProblem parse_floating(std::string_view text, F& out) noexcept {
  if (text.empty()) return "empty, where a number is expected";
  text = without_plus(text);
  F value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return "number out of the column type's range";
  if (ec != std::errc{} || end != text.data() + text.size()) return "not a number";
  out = value;
  return nullptr;
}

bool equals_ignoring_case(std::string_view text, std::string_view lower) noexcept {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

FieldProblem parse_text_field(std::string_view t, std::int64_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::int32_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::int16_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::int8_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::uint64_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::uint32_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::uint16_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, std::uint8_t& o) noexcept { return parse_integer(t, o); }
FieldProblem parse_text_field(std::string_view t, double& o) noexcept { return parse_floating(t, o); }
FieldProblem parse_text_field(std::string_view t, float& o) noexcept { return parse_floating(t, o); }

FieldProblem parse_text_field(std::string_view text, bool& out) noexcept {
  if (text == "1" || equals_ignoring_case(text, "true")) {
    out = true;
  } else if (text == "0" || equals_ignoring_case(text, "false")) {
    out = false;
  } else {
    return "not a boolean (true, false, 1 or 0)";
  }
  return nullptr;
}

}  // namespace spate::detail
