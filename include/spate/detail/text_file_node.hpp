// The text_file source: lines of files split into byte ranges, one partition per range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "spate/detail/node.hpp"

namespace spate::detail {

/// Lists the files of `path` (file, directory or glob) and plans byte-range splits of about
/// total/min_partitions bytes (at most 64 MiB; one split per compressed file). Throws io_error
/// when nothing can be read.
std::shared_ptr<Node<std::string_view>> make_text_file_node(std::uint64_t id, const std::string& path,
                                                           std::size_t min_partitions);

/// Where one line of a text source came from, for messages about bad input.
struct LineOrigin {
  std::string path;
  std::uint64_t offset;   // byte offset of the line's start in the (decompressed) file
  std::uint64_t line;     // 1-based line number
};

}  // namespace spate::detail
