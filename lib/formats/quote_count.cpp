// Counting quote characters with SSE2 where there is one (every x86-64), bytewise elsewhere.
#include "formats/quote_count.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spate::detail {

bool odd_quotes(const char* p, std::size_t n, char quote) noexcept {
  // Only the parity matters: XOR the match masks together and take the parity once, which needs
  // no popcount instruction (not in the x86-64 baseline).
  unsigned acc = 0;
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8(quote);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    acc ^= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)));
  }
#endif
  for (; i < n; ++i) acc ^= p[i] == quote ? 1u : 0u;
  return __builtin_parity(acc) != 0;
}

const char* find_record_end(const char* p, const char* end, char quote, bool& in_quotes) noexcept {
  while (p < end) {
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* stop = nl != nullptr ? nl : end;
    // Most lines hold no quote at all: one memchr says so without counting.
    if (std::memchr(p, quote, static_cast<std::size_t>(stop - p)) != nullptr &&
        odd_quotes(p, static_cast<std::size_t>(stop - p), quote)) {
      in_quotes = !in_quotes;
    }
    if (nl == nullptr) return nullptr;
    if (!in_quotes) return nl;
    p = nl + 1;
  }
  return nullptr;
}

}  // namespace spate::detail
