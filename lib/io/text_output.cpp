// What save_as_text_file's handler needs that does not depend on the record type.
#include "spate/detail/text_output.hpp"

#include <fmt/format.h>
#include <zstd.h>

#include "spate/error.hpp"

namespace spate::detail {

void throw_newline_in_formatted_record(const std::string& dir, std::size_t partition,
                                       std::uint64_t record) {
  throw error(fmt::format(
      "save_as_text_file('{}'): the format function's line for record {} (counted from 0) of "
      "partition {} holds a newline, which would read back as two records; replace it, or "
      "escape it with spate::escape_text_field (spate/text_escape.hpp)",
      dir, record, partition));
}

void check_text_output_options(const TextOutputOptions& options) {
  if ((options.compression != Compression::none && options.level < 0) ||
      (options.compression == Compression::gzip && options.level > 9) ||
      (options.compression == Compression::zstd && options.level > ZSTD_maxCLevel()))
    throw config_error(fmt::format(
        "save_as_text_file: compression level {} is out of range for {} (gzip 1 to 9, zstd 1 to "
        "{}, 0 for the default)",
        options.level, options.compression == Compression::gzip ? "gzip" : "zstd",
        ZSTD_maxCLevel()));
}

}  // namespace spate::detail
