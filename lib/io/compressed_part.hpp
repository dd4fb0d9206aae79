// Compressed text parts: a part file written through one streaming gzip or zstd compressor.
// Internal; included as "io/compressed_part.hpp".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "spate/detail/part_output_sink.hpp"
#include "spate/text_output_options.hpp"

namespace spate::detail {

/// The file name suffix of a part compressed this way: ".gz", ".zst", or "" for none.
std::string_view compressed_part_suffix(Compression compression) noexcept;

/// A part whose bytes go through one compressor (gzip with a gzip header, or one zstd frame)
/// into `part` (a file or an upload), a buffer of input at a time: memory stays bounded however
/// large the part. commit() ends the stream, then commits `part`. Throws io_error naming `name`
/// when the compressor fails, config_error for a level the compressor refuses.
std::unique_ptr<PartOutputSink::Part> make_compressed_part(std::unique_ptr<PartOutputSink::Part> part,
                                                           std::string name,
                                                           const TextOutputOptions& options);

}  // namespace spate::detail
