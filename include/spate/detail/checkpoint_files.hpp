// Checkpoint files: a checkpointed dataset's partitions on disk, DIR/part-NNNNN each, committed
// through PartOutputSink. A part is a run of chunks (block_codec.hpp) of serialized records, so
// that a damaged byte is found where it is. Compiled once in lib/io/checkpoint_files.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spate::detail {

/// Reads the chunks of one checkpoint part file, in order, a chunk at a time.
class CheckpointPartReader {
 public:
  /// Opens the part of `partition` in `dir`; throws io_error naming the file when it cannot
  /// (missing: the checkpoint was removed, or its directory is not shared with this host).
  CheckpointPartReader(const std::string& dir, std::size_t partition);
  ~CheckpointPartReader();
  CheckpointPartReader(const CheckpointPartReader&) = delete;
  CheckpointPartReader& operator=(const CheckpointPartReader&) = delete;

  /// The raw bytes of the next chunk, valid until the next call; nullopt after the last. Throws
  /// io_error naming the file and the chunk's offset when it is damaged or cut short.
  std::optional<std::string_view> next();

 private:
  /// Reads until buf_ holds `n` bytes from offset_ on, or the file ends; false if it ended.
  bool fill(std::size_t n);

  int fd_ = -1;
  std::string path_;
  std::string buf_;      // bytes read from offset_ on
  std::string scratch_;  // a decompressed chunk
  std::uint64_t offset_ = 0;
  std::size_t consumed_ = 0;  // bytes of buf_ already returned
};

/// The directory of one checkpointed dataset, held by the driver's node: removed with what it
/// holds when the last handle on the dataset goes (and its parent, the Context's checkpoint
/// directory, when that is left empty).
class CheckpointDirectory {
 public:
  explicit CheckpointDirectory(std::string path) : path_(std::move(path)) {}
  ~CheckpointDirectory();
  CheckpointDirectory(const CheckpointDirectory&) = delete;
  CheckpointDirectory& operator=(const CheckpointDirectory&) = delete;

  /// The directory.
  const std::string& path() const noexcept { return path_; }
  /// Throws io_error unless every one of `partitions` part files is visible from this process:
  /// executors on other hosts wrote into a directory the driver does not share.
  void check_complete(std::size_t partitions) const;

 private:
  std::string path_;
};

/// DIR/APP/dataset-ID: where the checkpoint of node `node_id` goes, under the checkpoint
/// directory `dir` set on the Context of application `app`.
std::string checkpoint_path(const std::string& dir, const std::string& app, std::uint64_t node_id);

}  // namespace spate::detail
