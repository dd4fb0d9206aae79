// Counting quote characters: the one fact that tells where CSV records start, since RFC 4180's
// "" escape adds quotes in pairs. Internal; included as "formats/quote_count.hpp".
#pragma once

#include <cstddef>
#include <cstdint>

namespace spate::detail {

/// Whether an odd number of bytes of [p, p + n) equal quote (16 bytes per step with SSE2).
bool odd_quotes(const char* p, std::size_t n, char quote) noexcept;

/// The '\n' that ends the record running through [p, end), or nullptr when the record goes on
/// past end. A '\n' ends a record when an even number of quotes lie between the record's start and
/// it; in_quotes says whether that number is odd at p, and is left as it is at the returned '\n'
/// (false) or at end.
const char* find_record_end(const char* p, const char* end, char quote, bool& in_quotes) noexcept;

}  // namespace spate::detail
