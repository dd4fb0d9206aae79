// Reading the lines of one input split, from plain, gzip or zstd files, by Hadoop's rule:
// a line belongs to the split in which it starts. Internal; included as "io/line_reader.hpp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/input_files.hpp"
#include "io/input_split.hpp"

namespace spate::detail {

class ByteSource;  // a stream of file bytes, plain or decompressed; defined in line_reader.cpp

/// A run of whole lines from LineReader::next_block: [begin, end) holds one or more lines, each
/// ending with '\n' (the reader writes one after a file's last line when it has none), and at
/// least LineReader::kBlockPadding readable bytes follow end (later lines, or bytes of no
/// meaning), so that scanners may load whole vectors past it. The bytes stay valid until the
/// next call.
struct LineBlock {
  char* begin = nullptr;
  char* end = nullptr;
  std::uint64_t offset = 0;  ///< where begin is in the (decompressed) file
};

/// Produces, in file order, every line that starts in [split.begin, split.end) of a plain file,
/// or every line of a compressed file (its split is the whole file). Across all splits of a file
/// each line comes out exactly once, however lines and split boundaries fall.
/// A line ends at '\n'; one '\r' right before the '\n' (or before the end of the file, for a
/// last line without '\n') is dropped, any other '\r' is data. An empty line is an empty view;
/// nothing after the final '\n' is not a line. Reads in large chunks into one buffer that grows
/// to hold the longest line; no allocation per line. Not thread-safe; one reader per task.
/// Bytes are passed through as they are: a line may hold NUL bytes or invalid UTF-8.
/// Throws io_error (naming the path, and the compressed offset for bad compressed data) when
/// the file cannot be opened or read, is truncated or corrupt, or is not as planned: its size
/// or modification time differ from split.file_size and split.file_mtime_ns, when it is opened
/// or when the split's last line has been read (a split without a planned mtime only fails when
/// the file became shorter).
class LineReader {
 public:
  /// The initial buffer size; it doubles whenever a line does not fit.
  static constexpr std::size_t kDefaultBufferBytes = std::size_t{1} << 20;
  /// Writable bytes after the end of every LineBlock.
  static constexpr std::size_t kBlockPadding = 64;

  /// Opens split.path and positions at the first line starting at or after split.begin.
  explicit LineReader(const InputSplit& split, std::size_t buffer_bytes = kDefaultBufferBytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Sets line to the next line of the split and returns true, or returns false at its end.
  /// The view stays valid until the next call or the reader's destruction.
  bool next(std::string_view& line);

  /// Sets block to the next lines of the split, as many whole lines as the buffer holds (at
  /// least one), and returns true; returns false at its end. The same lines as next() gives,
  /// with their '\n': a '\r' before it is still in the block, for the caller to drop. Use
  /// either next() or next_block() on one reader, not both. At most max_read bytes are read
  /// from the file per call (0: a buffer's worth), so that a block can still be in cache.
  bool next_block(LineBlock& block, std::size_t max_read = 0);

  /// The byte offset, in the (decompressed) file, where the line last returned by next() starts.
  std::uint64_t line_offset() const noexcept { return line_offset_; }

  /// The path of the file being read, for messages.
  const std::string& path() const noexcept { return path_; }

 private:
  /// Reads more bytes after len_, at most max_read unless 0 (compacting or growing the buffer
  /// first when it is full); returns false, and sets eof_, at the end of the file.
  bool fill(std::size_t max_read = 0);
  /// Ends the split: sets done_, then throws io_error if the file changed while it was read.
  /// Returns false, for next() to return.
  bool finish();
  /// Drops the bytes of the line that started before the split: up to and including the first
  /// '\n' at or after begin - 1. Sets done_ when there is none.
  void skip_partial_first_line();

  std::string path_;
  std::uint64_t end_;  // lines starting at or after end_ belong to the next split
  std::unique_ptr<ByteSource> source_;
  /// Bytes allocated past cap_: a '\n' after an unterminated last line, then the padding.
  static constexpr std::size_t kBufferSlack = 1 + kBlockPadding;

  std::unique_ptr<char[]> buf_;  // cap_ + kBufferSlack bytes
  std::size_t cap_;
  std::size_t len_ = 0;           // bytes of buf_ holding data
  std::size_t pos_ = 0;           // where the next line starts in buf_
  std::size_t scan_ = 0;          // bytes [pos_, scan_) are known to hold no '\n'
  std::uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  std::uint64_t line_offset_ = 0;
  bool eof_ = false;
  bool done_ = false;
};

/// The 1-based number of the line containing byte offset (of the decompressed content) of the
/// file split.path: the count of '\n' before offset, plus one. Reads the file from its start
/// (begin and end of split are ignored), so it is slow; meant for reporting a bad line.
/// Throws io_error when the file cannot be read or is shorter than offset.
std::uint64_t line_number_at(const InputSplit& split, std::uint64_t offset);

/// As above, for a listed file.
std::uint64_t line_number_at(const InputFile& file, std::uint64_t offset);

}  // namespace spate::detail
