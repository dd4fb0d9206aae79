// Compression: how the bytes of a text file are encoded, on input (chosen by a file's name) and
// on output (chosen by TextOutputOptions).
#pragma once

namespace spate {

/// A text file's encoding: as it is, gzip (".gz") or zstd (".zst"). The values travel in task
/// state: never renumber.
enum class Compression { none, gzip, zstd };

}  // namespace spate
