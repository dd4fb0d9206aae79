// list_separators for each instruction set: a 64-byte block becomes a bitmask of its separators,
// and the positions of the set bits are written eight at a time whatever their count (a block
// of a click log holds about six), so that most blocks take no data-dependent branch.
#include "clicklog/separator_scan.hpp"

#include <bit>
#include <cstdint>
#include <initializer_list>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace spate::detail {
namespace {

// Writes the positions of m's set bits (bit k: byte base + k) to out; returns how many.
[[gnu::always_inline]] inline std::size_t write_positions(std::uint64_t m, const char* base,
                                                          const char** out) noexcept {
  const int count = std::popcount(m);
  // countr_zero(0) is 64: the entries past count are written and later overwritten.
  for (int k = 0; k < 8; ++k, m &= m - 1) out[k] = base + std::countr_zero(m);
  for (int k = 8; k < count; ++k, m &= m - 1) out[k] = base + std::countr_zero(m);
  return static_cast<std::size_t>(count);
}

template <class Mask>
[[gnu::always_inline]] inline std::size_t list_with(const char* p, std::size_t n,
                                                    const char** out) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; i += 64) {
    std::uint64_t m = Mask::of(p + i);
    if (n - i < 64) m &= (std::uint64_t{1} << (n - i)) - 1;
    count += write_positions(m, p + i, out + count);
  }
  return count;
}

std::size_t list_portable(const char* p, std::size_t n, const char** out) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == '\t' || c == '\n' || c >= 0x80) out[count++] = p + i;
  }
  return count;
}

#if defined(__x86_64__)

// Each Mask*::of(b) is the separator bitmask of the 64 bytes at b. movemask takes each byte's top
// bit, so OR-ing the bytes into the compares adds those >= 0x80.
struct MaskSse2 {
  static std::uint64_t of(const char* b) noexcept {
    std::uint64_t m = 0;
    for (int q = 0; q < 4; ++q) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * q));
      const __m128i sep = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
          v);
      m |= std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(sep))} << (16 * q);
    }
    return m;
  }
};

struct MaskAvx2 {
  [[gnu::target("avx2,bmi,bmi2")]] static std::uint64_t of(const char* b) noexcept {
    std::uint64_t m = 0;
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32 * h));
      const __m256i sep = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')),
                                                          _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'))),
                                          v);
      m |= std::uint64_t{static_cast<std::uint32_t>(_mm256_movemask_epi8(sep))} << (32 * h);
    }
    return m;
  }
};

struct MaskAvx512 {
  [[gnu::target("avx512f,avx512bw,bmi,bmi2")]] static std::uint64_t of(const char* b) noexcept {
    const __m512i v = _mm512_loadu_si512(b);
    return static_cast<std::uint64_t>(_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t')) |
                                      _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) |
                                      _mm512_movepi8_mask(v));
  }
};

// One copy of the loop per instruction set, each with its mask inlined.
[[gnu::flatten]] std::size_t list_sse2(const char* p, std::size_t n, const char** out) noexcept {
  return list_with<MaskSse2>(p, n, out);
}
[[gnu::target("avx2,bmi,bmi2"), gnu::flatten]] std::size_t list_avx2(const char* p,
                                                                     std::size_t n,
                                                                     const char** out) noexcept {
  return list_with<MaskAvx2>(p, n, out);
}
[[gnu::target("avx512f,avx512bw,bmi,bmi2"), gnu::flatten]] std::size_t list_avx512(
    const char* p, std::size_t n, const char** out) noexcept {
  return list_with<MaskAvx512>(p, n, out);
}

#endif

}  // namespace

bool scan_isa_supported(ScanIsa isa) noexcept {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (isa) {
    case ScanIsa::portable:
    case ScanIsa::sse2:
      return true;
    case ScanIsa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2");
    case ScanIsa::avx512:
      return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("bmi2");
  }
  return false;
#else
  return isa == ScanIsa::portable;
#endif
}

ScanIsa best_scan_isa() noexcept {
  for (ScanIsa isa : {ScanIsa::avx512, ScanIsa::avx2, ScanIsa::sse2}) {
    if (scan_isa_supported(isa)) return isa;
  }
  return ScanIsa::portable;
}

std::size_t list_separators(ScanIsa isa, const char* p, std::size_t n, const char** out) noexcept {
  switch (isa) {
#if defined(__x86_64__)
    case ScanIsa::sse2:
      return list_sse2(p, n, out);
    case ScanIsa::avx2:
      return list_avx2(p, n, out);
    case ScanIsa::avx512:
      return list_avx512(p, n, out);
#endif
    default:
      return list_portable(p, n, out);
  }
}

}  // namespace spate::detail
