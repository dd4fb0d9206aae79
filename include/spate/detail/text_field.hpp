// Reading one field's text as a typed value: what the CSV reader does to each bound column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace spate::detail {

/// Why a field's text is not a value of its column's type; nullptr when it is.
using FieldProblem = const char*;

/// Integers: an optional sign ('+' or '-', '-' only for signed types) and decimal digits, nothing
/// else (no spaces, no thousands separators), within the type's range.
FieldProblem parse_text_field(std::string_view text, std::int64_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::int32_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::int16_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::int8_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::uint64_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::uint32_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::uint16_t& out) noexcept;
FieldProblem parse_text_field(std::string_view text, std::uint8_t& out) noexcept;
/// Floating point: what std::from_chars accepts (decimal or exponent form, "inf", "nan"), with
/// an optional leading '+'; the whole text must be the number.
FieldProblem parse_text_field(std::string_view text, double& out) noexcept;
FieldProblem parse_text_field(std::string_view text, float& out) noexcept;
/// Booleans: "true" or "false" in any letter case, "1" or "0".
FieldProblem parse_text_field(std::string_view text, bool& out) noexcept;
/// Strings: the text as it is (already unquoted and unescaped).
FieldProblem parse_text_field(std::string_view text, std::string& out);
/// Reads a field of 1 to 18 ASCII digits whose value I holds, inline; false (out untouched) for
/// anything else, which parse_text_field then reads or refuses. Most integer fields are such
/// digits, and the call into the compiled from_chars path cost more than reading them.
template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
inline bool parse_plain_digits(std::string_view text, I& out) noexcept {
  const std::size_t n = text.size();
  if (n - 1 >= 18) return false;  // empty (wraps around), or might not fit 64 bits
  std::uint64_t value = 0;
  for (const char c : text) {
    const unsigned d = static_cast<unsigned char>(c) - unsigned{'0'};
    if (d > 9) return false;
    value = value * 10 + d;
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<I>::max())) return false;
  out = static_cast<I>(value);
  return true;
}

/// Views: the text itself, valid while the row is processed.
inline FieldProblem parse_text_field(std::string_view text, std::string_view& out) noexcept {
  out = text;
  return nullptr;
}

}  // namespace spate::detail
