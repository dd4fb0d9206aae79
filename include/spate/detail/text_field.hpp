// Reading one field's text as a typed value: what the CSV reader does to each bound column.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
namespace text_field_detail {

inline bool few_digits(const char* p, std::size_t n, std::uint64_t& value) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned d = static_cast<unsigned char>(p[i]) - unsigned{'0'};
    if (d > 9) return false;
    v = v * 10 + d;
  }
  value = v;
  return true;
}

/// The value of the 8 ASCII digits in w, the first in its lowest byte; false when one of its
/// bytes is not a digit.
inline bool word_digits(std::uint64_t w, std::uint64_t& value) noexcept {
  constexpr std::uint64_t kZeros = 0x3030303030303030ULL;
  // A byte is a digit iff its high nibble is 3 and stays 3 after adding 6.
  constexpr std::uint64_t kHighNibbles = 0xF0F0F0F0F0F0F0F0ULL;
  if ((((w & kHighNibbles) ^ kZeros) | (((w + 0x0606060606060606ULL) & kHighNibbles) ^ kZeros)) != 0) return false;
  w -= kZeros;
  // Fold neighbours: 2 digits per 16 bits, then 4 per 32, then all 8.
  w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
  w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
  value = (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;
  return true;
}

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

/// The 8 bytes at p with the first n (1 to 8) moved to the top and '0's ahead of them: the
/// same number, as 8 digits. Reads 8 bytes whatever n is.
inline std::uint64_t zero_filled(const char* p, std::size_t n) noexcept {
  const unsigned shift = static_cast<unsigned>(8 * (8 - n));
  const std::uint64_t fill = (std::uint64_t{1} << shift) - 1;  // the bytes ahead of the digits
  return (load8(p) << shift) | (0x3030303030303030ULL & fill);
}

/// The value of the 8 ASCII digits at p, or false when one of them is not a digit.
inline bool eight_digits(const char* p, std::uint64_t& value) noexcept {
  if constexpr (std::endian::native != std::endian::little) return few_digits(p, 8, value);
  return word_digits(load8(p), value);
}

}  // namespace text_field_detail

/// Reads a field of 1 to 18 ASCII digits whose value I holds, inline; false (out untouched) for
/// anything else, which parse_text_field then reads or refuses. Most integer fields are such
/// digits, and the call into the compiled from_chars path cost more than reading them. Reads
/// only the field's bytes: a field may end a buffer.
template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
inline bool parse_plain_digits(std::string_view text, I& out) noexcept {
  namespace d = text_field_detail;
  const std::size_t n = text.size();
  const char* p = text.data();
  if (n - 1 >= 18) return false;  // empty (wraps around), or might not fit 64 bits
  std::uint64_t value = 0;
  if (n >= 8) {
    // The last eight digits as one word, the ones before them (up to ten) one by one.
    std::uint64_t low = 0, high = 0;
    if (!d::eight_digits(p + n - 8, low) || !d::few_digits(p, n - 8, high)) return false;
    value = high * 100000000 + low;
  } else if (!d::few_digits(p, n, value)) {
    return false;
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<I>::max())) return false;
  out = static_cast<I>(value);
  return true;
}

/// As parse_plain_digits, for a field followed by at least 8 readable bytes (a padded buffer):
/// up to 16 digits in two 8-byte words, without a loop over them.
template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
inline bool parse_padded_digits(std::string_view text, I& out) noexcept {
  namespace d = text_field_detail;
  const std::size_t n = text.size();
  const char* p = text.data();
  if constexpr (std::endian::native != std::endian::little) return parse_plain_digits(text, out);
  if (n - 1 >= 16) return parse_plain_digits(text, out);  // empty, or 17+ digits: rare
  std::uint64_t value = 0;
  if (n <= 8) {
    if (!d::word_digits(d::zero_filled(p, n), value)) return false;
  } else {
    std::uint64_t high = 0, low = 0;
    if (!d::word_digits(d::zero_filled(p, n - 8), high) || !d::word_digits(d::load8(p + n - 8), low)) return false;
    value = high * 100000000 + low;
  }
  if (value > static_cast<std::uint64_t>(std::numeric_limits<I>::max())) return false;
  out = static_cast<I>(value);
  return true;
}

/// Strings: the text as it is (already unquoted and unescaped).
inline FieldProblem parse_text_field(std::string_view text, std::string& out) {
  out.assign(text);
  return nullptr;
}

/// Views: the text itself, valid while the row is processed.
inline FieldProblem parse_text_field(std::string_view text, std::string_view& out) noexcept {
  out = text;
  return nullptr;
}

}  // namespace spate::detail
