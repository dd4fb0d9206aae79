#include "spate/detail/checkpoint_files.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "spate/detail/part_output_sink.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace fs = std::filesystem;

ObjectFileSplit checkpoint_part_split(const std::string& dir, std::size_t partition) {
  std::string path = (fs::path(dir) / PartOutputSink::part_name(partition)).string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    throw io_error(fmt::format("cannot read checkpoint file '{}': {}{}", path, std::strerror(err),
                               err == ENOENT ? " (was the checkpoint directory removed, or is it not "
                                               "shared between the driver and every executor?)"
                                             : ""));
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  // The size of now: a checkpoint part is written once and never changes, so there is no
  // planning-time size to hold it to.
  return ObjectFileSplit{path, 0, size, size, std::nullopt, {}};
}

CheckpointDirectory::~CheckpointDirectory() {
  std::error_code ec;
  fs::remove_all(path_, ec);
  fs::remove(fs::path(path_).parent_path(), ec);  // only when empty: other checkpoints live there
}

void CheckpointDirectory::check_complete(std::size_t partitions) const {
  std::size_t seen = 0;
  for (std::size_t p = 0; p < partitions; ++p) {
    std::error_code ec;
    if (fs::exists(fs::path(path_) / PartOutputSink::part_name(p), ec)) ++seen;
  }
  if (seen != partitions)
    throw io_error(fmt::format(
        "checkpoint directory '{}': the driver sees {} of the {} part files its tasks wrote; the "
        "checkpoint directory must be shared by the driver and every executor (set it to a "
        "shared file system with Context::set_checkpoint_dir or --checkpoint-dir)",
        path_, seen, partitions));
}

std::string checkpoint_path(const std::string& dir, const std::string& app, std::uint64_t node_id) {
  return (fs::path(dir) / app / fmt::format("dataset-{}", node_id)).string();
}

}  // namespace spate::detail
