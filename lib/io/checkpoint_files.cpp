#include "spate/detail/checkpoint_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "spate/detail/block_codec.hpp"
#include "spate/detail/part_output_sink.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace fs = std::filesystem;

CheckpointPartReader::CheckpointPartReader(const std::string& dir, std::size_t partition)
    : path_((fs::path(dir) / PartOutputSink::part_name(partition)).string()) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    throw io_error(fmt::format("cannot read checkpoint file '{}': {}{}", path_, std::strerror(err),
                               err == ENOENT ? " (was the checkpoint directory removed, or is it not "
                                               "shared between the driver and every executor?)"
                                             : ""));
  }
}

CheckpointPartReader::~CheckpointPartReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool CheckpointPartReader::fill(std::size_t n) {
  while (buf_.size() - consumed_ < n) {
    if (consumed_ > 0) {  // keep only what is not returned yet
      buf_.erase(0, consumed_);
      offset_ += consumed_;
      consumed_ = 0;
    }
    std::size_t have = buf_.size();
    std::size_t want = std::max<std::size_t>(n - have, std::size_t{1} << 20);
    buf_.resize(have + want);
    ssize_t r;
    do r = ::read(fd_, buf_.data() + have, want);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      buf_.resize(have);
      throw io_error(fmt::format("reading checkpoint file '{}' at byte {} failed: {}", path_,
                                 offset_ + have, std::strerror(err)));
    }
    buf_.resize(have + static_cast<std::size_t>(r));
    if (r == 0) return false;
  }
  return true;
}

std::optional<std::string_view> CheckpointPartReader::next() {
  std::uint64_t at = offset_ + consumed_;
  try {
    std::optional<std::size_t> size;
    for (std::size_t need = 1;;) {
      bool more = fill(need);
      std::string_view have(buf_.data() + consumed_, buf_.size() - consumed_);
      if (have.empty() && !more) return std::nullopt;
      size = chunk_size(have, at);
      if (size && have.size() >= *size) break;
      if (!more) throw corrupt_chunk("the file ends inside a chunk", at);
      need = size ? *size : have.size() + 1;
    }
    std::string_view chunk(buf_.data() + consumed_, *size);
    consumed_ += *size;
    return decode_chunk(chunk, scratch_, at);
  } catch (const corrupt_chunk& e) {
    throw io_error(fmt::format("checkpoint file '{}' is damaged at byte {}: {}", path_, e.offset(), e.what()));
  }
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
