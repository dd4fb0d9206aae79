// Internal byte scanners behind parse_click: tab finding with a non-ASCII flag (SSE2, or 8 bytes
// at a time elsewhere), 1-18 digit decoding and UTF-8 validation with an ASCII fast path.
// The hot helpers are always_inline: left out of line by g++, parse_click ran ~1.8x slower.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spate::detail {

/// Where the first 9 tabs of a line are; `too_many` if there is a 10th (scanning stops there).
/// `non_ascii` is set iff a byte >= 0x80 occurs (only complete when !too_many).
struct TabScan {
  std::size_t tabs[9];
  int count;
  bool too_many;
  bool non_ascii;
};

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

/// High bit set in exactly the bytes of `w` equal to `byte` (no false positives).
inline std::uint64_t bytes_equal_mask(std::uint64_t w, unsigned char byte) noexcept {
  const std::uint64_t x = w ^ (kOnes * byte);
  const std::uint64_t low7 = ~kHighBits;
  return ~(((x & low7) + low7) | x | low7);
}

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  return w;  // byte i of the input is bits 8i..8i+7
}

// Appends the positions of the set bits of `m` (bit k = byte base + k / kStride); false once a
// 10th tab is seen. (Unconditional stores of 4 positions per block measured slower than this.)
template <int kStride, class Mask>
[[gnu::always_inline]] inline bool take_tabs(Mask m, std::size_t base, TabScan& s) noexcept {
  for (; m != 0; m &= m - 1) {
    if (s.count == 9) {
      s.too_many = true;
      return false;
    }
    s.tabs[s.count++] = base + static_cast<std::size_t>(std::countr_zero(m)) / kStride;
  }
  return true;
}

inline void scan_tail_bytes(const char* p, std::size_t from, std::size_t n, TabScan& s) noexcept {
  unsigned hi = 0;
  for (std::size_t i = from; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    hi |= c;
    if (c == '\t') {
      if (s.count == 9) {
        s.too_many = true;
        return;
      }
      s.tabs[s.count++] = i;
    }
  }
  s.non_ascii |= (hi & 0x80) != 0;
}

inline void reset(TabScan& s) noexcept {
  s.count = 0;
  s.too_many = false;
  s.non_ascii = false;
}

/// Portable scanner: 8 bytes per step as 64-bit words.
[[gnu::always_inline]] inline void scan_tabs_swar(const char* p, std::size_t n,
                                                  TabScan& s) noexcept {
  reset(s);
  std::uint64_t hi = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t w = load8(p + i);
    hi |= w;
    if (!take_tabs<8>(bytes_equal_mask(w, '\t') & kHighBits, i, s)) return;
  }
  s.non_ascii = (hi & kHighBits) != 0;
  scan_tail_bytes(p, i, n, s);
}

#if defined(__SSE2__)
/// x86-64 scanner: 16 bytes per step; the last partial block is an overlapping load.
[[gnu::always_inline]] inline void scan_tabs_sse2(const char* p, std::size_t n,
                                                  TabScan& s) noexcept {
  reset(s);
  if (n < 16) {
    scan_tail_bytes(p, 0, n, s);
    return;
  }
  const __m128i tab = _mm_set1_epi8('\t');
  unsigned hi = 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    hi |= static_cast<unsigned>(_mm_movemask_epi8(v));
    const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, tab)));
    if (!take_tabs<1>(m, i, s)) return;
  }
  if (i < n) {
    // Reload the last 16 bytes and drop the ones the loop already saw.
    const std::size_t base = n - 16;
    const unsigned seen = ~0U << (i - base);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + base));
    hi |= static_cast<unsigned>(_mm_movemask_epi8(v)) & seen;
    const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, tab))) & seen;
    if (!take_tabs<1>(m & 0xFFFFU, base, s)) return;
  }
  s.non_ascii = (hi & 0xFFFFU) != 0;
}
#endif

/// The scanner parse_click uses on this target.
[[gnu::always_inline]] inline void scan_tabs(const char* p, std::size_t n, TabScan& s) noexcept {
#if defined(__SSE2__)
  scan_tabs_sse2(p, n, s);
#else
  scan_tabs_swar(p, n, s);
#endif
}

/// Decodes 1-18 ASCII digits into `out`; false for anything else (empty, 19+, other bytes).
/// Reads only p[0, len).
inline bool parse_digits(const char* p, std::size_t len, std::int64_t& out) noexcept {
  if (len - 1 >= 18) return false;  // 0 wraps around
  std::uint64_t r = 0;
  for (; len != 0; ++p, --len) {
    const unsigned d = static_cast<unsigned char>(*p) - unsigned{'0'};
    if (d > 9) return false;
    r = r * 10 + d;
  }
  out = static_cast<std::int64_t>(r);
  return true;
}

/// The value of 8 digits less '0' each, the first in the low byte.
[[gnu::always_inline]] inline std::uint64_t fold8(std::uint64_t w) noexcept {
  // Fold neighbours: 2 digits per 16 bits, then 4 per 32, then all 8.
  w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
  w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
  return (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;
}

/// The value of 8 ASCII digits packed in `w` (first digit in the low byte); false unless all
/// eight bytes are '0'..'9'.
[[gnu::always_inline]] inline bool digits8(std::uint64_t w, std::uint64_t& value) noexcept {
  // A byte is a digit iff its high nibble is 3 and stays 3 after adding 6 (no carries out of
  // digit bytes; a carry out of a non-digit byte does not matter, that byte already failed).
  const std::uint64_t nib = 0xF0F0F0F0F0F0F0F0ULL;
  const std::uint64_t k30 = kOnes * 0x30;
  if ((((w & nib) ^ k30) | (((w + kOnes * 0x06) & nib) ^ k30)) != 0) return false;
  value = fold8(w - k30);
  return true;
}

/// As parse_digits for the field p[0, len) of the line [begin, end), but 8 digits at a time:
/// it may read any bytes of the line around the field (never outside the line).
[[gnu::always_inline]] inline bool parse_digits_in_line(const char* begin, const char* end,
                                                        const char* p, std::size_t len,
                                                        std::int64_t& out) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return parse_digits(p, len, out);
  } else {
    if (len - 1 >= 16) return parse_digits(p, len, out);  // 0, or 17+: rare
    const std::uint64_t k30 = kOnes * 0x30;
    std::uint64_t w;
    std::size_t pad;  // leading '0's that make up a group of 8
    if (len > 8) {
      // The last 8 digits are one group; the first len-8 are padded like a short number.
      std::uint64_t low;
      if (!digits8(load8(p + len - 8), low)) return false;
      pad = 16 - len;
      const std::uint64_t fill = (std::uint64_t{1} << (8 * pad)) - 1;
      w = (load8(p) << (8 * pad)) | (k30 & fill);
      std::uint64_t high;
      if (!digits8(w, high)) return false;
      out = static_cast<std::int64_t>(high * 100000000 + low);
      return true;
    }
    pad = 8 - len;
    const std::uint64_t fill = (std::uint64_t{1} << (8 * pad)) - 1;
    if (end - p >= 8) {
      w = load8(p) << (8 * pad);  // the digits move to the top bytes, the rest falls off
    } else if (p + len - begin >= 8) {
      w = load8(p + len - 8);  // the digits are already the top bytes
    } else {
      return parse_digits(p, len, out);
    }
    w = (w & ~fill) | (k30 & fill);
    std::uint64_t value;
    if (!digits8(w, value)) return false;
    out = static_cast<std::int64_t>(value);
    return true;
  }
}

/// Index of the first byte of the first ill-formed UTF-8 sequence in p[0, n), or n if the
/// bytes are valid UTF-8 (Unicode Table 3-7: no overlongs, surrogates or code points past
/// U+10FFFF, no truncated sequences).
inline std::size_t first_invalid_utf8(const char* p, std::size_t n) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  const auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  std::size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && (load8(p + i) & kHighBits) == 0) {
      i += 8;
      continue;
    }
    const unsigned char c = b[i];
    if (c < 0x80) {
      ++i;
    } else if (c < 0xC2) {
      return i;  // a stray continuation byte, or C0/C1 (always overlong)
    } else if (c < 0xE0) {
      if (i + 1 >= n || !in(b[i + 1], 0x80, 0xBF)) return i;
      i += 2;
    } else if (c < 0xF0) {
      const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F would be overlong
      const unsigned hi = c == 0xED ? 0x9F : 0xBF;  // ED A0..BF would be a surrogate
      if (i + 2 >= n || !in(b[i + 1], lo, hi) || !in(b[i + 2], 0x80, 0xBF)) return i;
      i += 3;
    } else if (c < 0xF5) {
      const unsigned lo = c == 0xF0 ? 0x90 : 0x80;  // F0 80..8F would be overlong
      const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;  // F4 90.. would pass U+10FFFF
      if (i + 3 >= n || !in(b[i + 1], lo, hi) || !in(b[i + 2], 0x80, 0xBF) ||
          !in(b[i + 3], 0x80, 0xBF)) {
        return i;
      }
      i += 4;
    } else {
      return i;  // F5..FF never occur in UTF-8
    }
  }
  return n;
}

}  // namespace spate::detail
