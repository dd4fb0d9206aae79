// Parsing a block of whole click-log lines in two passes, as the reader hands them over: first
// list_separators finds every '\t', '\n' and byte >= 0x80 with vector compares; then a line
// whose next ten separators are nine tabs and a '\n' (ten fields, all ASCII, so valid UTF-8) has
// its fields checked in place, and any other line goes to parse_click. The results are
// parse_click's, line for line; the per-line scan of parse_click read every byte twice more.
// Internal; included as "clicklog/click_block_parse.hpp".
#pragma once

#include <spate/clicklog.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "clicklog/line_scan.hpp"
#include "clicklog/separator_scan.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spate::detail {

/// Bytes a block parse may read past its end: a block needs this much readable padding.
inline constexpr std::size_t kClickBlockOverread = 64;

/// The separators of a region, listed a span at a time as its lines ask for them.
class SeparatorQueue {
 public:
  /// Bytes listed per call: their list stays in the first-level cache.
  static constexpr std::size_t kSpan = 2048;

  SeparatorQueue(ScanIsa isa, const char* begin, const char* end) noexcept
      : isa_(isa), next_(begin), end_(end) {}

  /// Lists more until at least n are ready or the region is done; returns how many are ready.
  std::size_t ready(std::size_t n) noexcept {
    if (tail_ - head_ >= n) return tail_ - head_;
    std::memmove(buf_.data(), buf_.data() + head_, (tail_ - head_) * sizeof(const char*));
    tail_ -= head_;
    head_ = 0;
    while (tail_ < n && next_ < end_) {
      const auto len = std::min(kSpan, static_cast<std::size_t>(end_ - next_));
      tail_ += list_separators(isa_, next_, len, buf_.data() + tail_);
      next_ += len;
    }
    return tail_;
  }
  /// The ready separators, the next one first.
  const char* const* peek() const noexcept { return buf_.data() + head_; }
  /// Drops the next n (they must be ready).
  void skip(std::size_t n) noexcept { head_ += n; }
  /// Takes the next separator, or nullptr when the region has no more.
  const char* take() noexcept {
    if (head_ == tail_ && ready(1) == 0) return nullptr;
    return buf_[head_++];
  }

 private:
  ScanIsa isa_;
  const char* next_;  // the first byte not yet listed
  const char* end_;
  // One span's worth, up to 9 carried over from the previous one, and the slack.
  std::array<const char*, kSpan + 16 + kSeparatorSlack> buf_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

/// True iff p[0, len) is 1-16 ASCII digits; reads the 16 bytes at p whatever len is.
[[gnu::always_inline]] inline bool padded_short_number(const char* p, std::size_t len) noexcept {
  const bool sized = len - 1 < 16;  // 0 wraps around
#if defined(__SSE2__)
  const __m128i d =
      _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi8('0'));
  const auto digits = static_cast<std::uint32_t>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)));
  const auto want = static_cast<std::uint32_t>((1ULL << std::min<std::size_t>(len, 16)) - 1);
  return sized & ((digits & want) == want);
#else
  std::int64_t ignored;
  return sized && parse_digits(p, len, ignored);
#endif
}

/// The value of p[0, len), which padded_short_number accepted; reads the 8 bytes at p.
[[gnu::always_inline]] inline std::int64_t padded_short_value(const char* p,
                                                              std::size_t len) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    std::int64_t v = 0;
    parse_digits(p, len, v);
    return v;
  } else {
    // Subtracting '0' borrows only out of bytes past the digits (digits are >= '0'); the shift
    // drops those bytes and moves zeros in ahead of the digits.
    constexpr std::uint64_t kZeros = kOnes * '0';
    if (len <= 8) return static_cast<std::int64_t>(fold8((load8(p) - kZeros) << (8 * (8 - len))));
    const std::uint64_t high = fold8((load8(p) - kZeros) << (8 * (16 - len)));
    const std::uint64_t low = fold8(load8(p + len - 8) - kZeros);
    return static_cast<std::int64_t>(high * 100000000 + low);
  }
}

/// Rule 4 for the event p[0, len); reads the 16 bytes at p.
[[gnu::always_inline]] inline bool padded_event(const char* p, std::size_t len,
                                                Event& e) noexcept {
  if (len == 10) {
    if (std::memcmp(p, "impression", 10) == 0) {
      e = Event::impression;
      return true;
    }
    e = Event::conversion;
    return std::memcmp(p, "conversion", 10) == 0;
  }
  e = Event::click;
  return len == 5 && std::memcmp(p, "click", 5) == 0;
}

/// Parses the lines of [begin, end), each ending with '\n' (a '\r' before it is not part of the
/// line), at least kClickBlockOverread readable bytes following end. Calls on_click(ClickView&&,
/// line_begin) for each valid line and on_bad(line, line_begin) for each other one, the line
/// as parse_click sees it; returns the number of lines.
template <class OnClick, class OnBad>
std::size_t parse_click_block(ScanIsa isa, const char* begin, const char* end, OnClick&& on_click,
                              OnBad&& on_bad) {
  SeparatorQueue seps(isa, begin, end);
  std::size_t lines = 0;
  const char* line = begin;
  ClickView v;
  for (; line < end; ++lines) {
    if (seps.ready(10) >= 10) {
      const char* const* s = seps.peek();
      const unsigned shape = (*s[0] ^ '\t') | (*s[1] ^ '\t') | (*s[2] ^ '\t') | (*s[3] ^ '\t') |
                             (*s[4] ^ '\t') | (*s[5] ^ '\t') | (*s[6] ^ '\t') | (*s[7] ^ '\t') |
                             (*s[8] ^ '\t') | (*s[9] ^ '\n');
      if (shape == 0) {
        const char* nl = s[9];
        const char* stop = nl - (nl[-1] == '\r');
        const auto size = [](const char* from, const char* to) {
          return static_cast<std::size_t>(to - from);
        };
        const char* f[10] = {line,     s[0] + 1, s[1] + 1, s[2] + 1, s[3] + 1,
                             s[4] + 1, s[5] + 1, s[6] + 1, s[7] + 1, s[8] + 1};
        const std::size_t ts_len = size(f[0], s[0]);
        const std::size_t campaign_len = size(f[4], s[4]);
        const std::size_t ad_len = size(f[5], s[5]);
        const std::size_t cost_len = size(f[9], stop);
        const bool texts = (f[1] != s[1]) & (f[2] != s[2]) & (f[6] != s[6]) & (f[7] != s[7]) &
                           (f[8] != s[8]);
        const bool numbers = padded_short_number(f[0], ts_len) &
                             padded_short_number(f[4], campaign_len) &
                             padded_short_number(f[5], ad_len) &
                             padded_short_number(f[9], cost_len);
        if (texts & numbers & padded_event(f[3], size(f[3], s[3]), v.event)) {
          v.ts = padded_short_value(f[0], ts_len);
          v.user_id = std::string_view(f[1], size(f[1], s[1]));
          v.session_id = std::string_view(f[2], size(f[2], s[2]));
          v.campaign_id = padded_short_value(f[4], campaign_len);
          v.ad_id = padded_short_value(f[5], ad_len);
          v.url = std::string_view(f[6], size(f[6], s[6]));
          v.country = std::string_view(f[7], size(f[7], s[7]));
          v.device = std::string_view(f[8], size(f[8], s[8]));
          v.cost_micros = padded_short_value(f[9], cost_len);
          on_click(std::move(v), line);
        } else {
          // Long numbers, or a broken field: parse_click decides, and names the rule.
          const std::string_view text(line, size(line, stop));
          if (parse_click(text, v).ok()) {
            on_click(std::move(v), line);
          } else {
            on_bad(text, line);
          }
        }
        seps.skip(10);
        line = nl + 1;
        continue;
      }
    }
    // Another shape (non-ASCII bytes, or not nine tabs): up to its '\n', then parse_click.
    const char* nl;
    while ((nl = seps.take()) != nullptr && *nl != '\n') {
    }
    if (nl == nullptr) nl = end - 1;  // cannot happen: the block ends with '\n'
    const char* stop = nl - (nl > line && nl[-1] == '\r');
    const std::string_view text(line, static_cast<std::size_t>(stop - line));
    if (parse_click(text, v).ok()) {
      on_click(std::move(v), line);
    } else {
      on_bad(text, line);
    }
    line = nl + 1;
  }
  return lines;
}

}  // namespace spate::detail
