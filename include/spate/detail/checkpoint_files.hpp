// Checkpoint files: a checkpointed dataset's partitions on disk, DIR/part-NNNNN each, committed
// through PartOutputSink. A part is an object file (object_file_format.hpp): its blocks carry
// checksums, so that a damaged byte is found where it is. Compiled once in
// lib/io/checkpoint_files.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "spate/detail/object_file_format.hpp"

namespace spate::detail {

/// The whole part file of `partition` in checkpoint directory `dir`, as an object-file split.
/// Throws io_error naming the file when it cannot be read (missing: the checkpoint was removed,
/// or its directory is not shared with this host).
ObjectFileSplit checkpoint_part_split(const std::string& dir, std::size_t partition);

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
