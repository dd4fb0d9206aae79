// Listing where a click log's separators are ('\t', '\n' and every byte >= 0x80) with the widest
// vector unit the CPU has: the first pass of the block parser (click_block_parse.hpp).
// Internal; included as "clicklog/separator_scan.hpp".
#pragma once

#include <cstddef>

namespace spate::detail {

/// An instruction set list_separators can use. `portable` runs everywhere.
enum class ScanIsa { portable, sse2, avx2, avx512 };

/// Whether isa runs on this CPU (and operating system, for the wide registers).
bool scan_isa_supported(ScanIsa isa) noexcept;

/// The widest supported instruction set.
ScanIsa best_scan_isa() noexcept;

/// Entries list_separators may write past the count it returns.
inline constexpr std::size_t kSeparatorSlack = 8;

/// Bytes list_separators may read past p + n (their separators are not listed).
inline constexpr std::size_t kSeparatorOverread = 63;

/// Appends to out a pointer to every '\t', '\n' and byte >= 0x80 of p[0, n), in order, and
/// returns how many; out needs room for n + kSeparatorSlack. isa must be supported.
std::size_t list_separators(ScanIsa isa, const char* p, std::size_t n, const char** out) noexcept;

}  // namespace spate::detail
