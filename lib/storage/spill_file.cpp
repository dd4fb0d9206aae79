#include "spate/detail/spill_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "spate/error.hpp"

namespace spate::detail {

SpillFile::SpillFile(const std::string& dir, Codec codec) : dir_(dir), codec_(codec) {
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A filesystem without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir + "/spate-spill-XXXXXX";
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.c_str());
  }
  if (fd_ < 0)
    throw io_error(fmt::format("cannot create a spill file in '{}': {}", dir, std::strerror(errno)));
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SpillFile::path() const { return fmt::format("/proc/self/fd/{} (a spill file in '{}')", fd_, dir_); }

void SpillFile::append(std::string_view raw) {
  chunk_.clear();
  append_chunk(chunk_, raw, codec_);
  std::string_view block = chunk_;
  std::uint32_t len = static_cast<std::uint32_t>(block.size());
  if (block.size() != len) throw io_error("spill block over 4 GiB");
  auto write_at = [&](const void* data, std::size_t n, std::uint64_t at) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(at));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        throw io_error(fmt::format("spilling to '{}' failed: {}", dir_, w < 0 ? std::strerror(errno) : "no progress"));
      p += w;
      n -= static_cast<std::size_t>(w);
      at += static_cast<std::uint64_t>(w);
    }
  };
  write_at(&len, sizeof len, size_);
  write_at(block.data(), block.size(), size_ + sizeof len);
  size_ += sizeof len + block.size();
}

std::uint64_t SpillFile::read(std::uint64_t offset, std::string& out) const {
  if (offset >= size_) return size_;
  auto read_at = [&](void* data, std::size_t n, std::uint64_t at) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
      ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(at));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        throw io_error(fmt::format("reading a spill file in '{}' failed: {}", dir_,
                                   r < 0 ? std::strerror(errno) : "unexpected end"));
      p += r;
      n -= static_cast<std::size_t>(r);
      at += static_cast<std::uint64_t>(r);
    }
  };
  std::uint32_t len = 0;
  read_at(&len, sizeof len, offset);
  if (offset + sizeof len + len > size_)
    throw io_error(fmt::format("{}: the block at offset {} runs past the end of the file", path(), offset));
  std::string chunk(len, '\0');
  read_at(chunk.data(), len, offset + sizeof len);
  try {
    std::string_view raw = decode_chunk(chunk, out);
    if (raw.data() != out.data()) out.assign(raw);
  } catch (const corrupt_chunk& e) {
    throw io_error(fmt::format("{}: the block at offset {} is damaged: {}", path(), offset, e.what()));
  }
  return offset + sizeof len + len;
}

}  // namespace spate::detail
