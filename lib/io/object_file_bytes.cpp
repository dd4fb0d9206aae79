// Object file bytes from a local file (pread) or an S3 object (ranged GETs on one connection).
#include "io/object_file_bytes.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "io/input_files.hpp"
#include "s3/s3_client.hpp"
#include "s3/s3_config.hpp"
#include "spate/error.hpp"

namespace spate::detail {

void throw_damaged_object_file(const std::string& path, std::uint64_t offset, std::string_view why) {
  throw io_error(fmt::format("object file '{}' is damaged at byte {}: {}", path, offset, why));
}

namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

class LocalObjectFileBytes final : public ObjectFileBytes {
 public:
  LocalObjectFileBytes(const std::string& path, std::uint64_t size, std::optional<std::int64_t> mtime_ns)
      : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw io_error(fmt::format("cannot read object file '{}': {}", path, errno_text(errno)));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      int err = errno;
      ::close(fd_);
      throw io_error(fmt::format("cannot stat object file '{}': {}", path, errno_text(err)));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (size_ != size || (mtime_ns && *mtime_ns != mtime_ns_of(st))) {
      ::close(fd_);
      throw io_error(fmt::format(
          "object file '{}' changed since the job was planned ({} bytes then, {} now): a job's "
          "input must not change while it runs",
          path, size, size_));
    }
  }
  ~LocalObjectFileBytes() override { ::close(fd_); }
  LocalObjectFileBytes(const LocalObjectFileBytes&) = delete;
  LocalObjectFileBytes& operator=(const LocalObjectFileBytes&) = delete;

  std::uint64_t size() const noexcept override { return size_; }

  void read_at(std::uint64_t offset, std::size_t n, std::string& out) override {
    out.resize(n);
    std::size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0)
        throw io_error(fmt::format("reading object file '{}' at byte {} failed: {}", path_, offset + got,
                                   errno_text(errno)));
      if (r == 0)
        throw_damaged_object_file(path_, offset + got, "the file ends early (cut short since it was planned?)");
      got += static_cast<std::size_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_;
  std::uint64_t size_ = 0;
};

// Each read is one ranged GET asking for the planned ETag (If-Match), so every byte read belongs
// to the planned version; the client keeps its connection between reads and resumes a GET cut
// mid-body.
class S3ObjectFileBytes final : public ObjectFileBytes {
 public:
  S3ObjectFileBytes(const std::string& uri, std::uint64_t size, std::string etag)
      : uri_(uri), loc_(parse_s3_uri(uri)), size_(size), etag_(std::move(etag)),
        client_(S3Config::from_environment()) {}

  std::uint64_t size() const noexcept override { return size_; }

  void read_at(std::uint64_t offset, std::size_t n, std::string& out) override {
    out.resize(n);
    if (offset > size_ || n > size_ - offset)
      throw_damaged_object_file(uri_, size_, "the object ends early (cut short since it was planned?)");
    std::size_t got = 0;
    while (got < n) {
      client_.start_get(loc_.bucket, loc_.key, offset + got, offset + n, etag_);
      std::size_t before = got;
      while (std::size_t r = client_.read_body(out.data() + got, n - got)) got += r;
      if (got == before)
        throw_damaged_object_file(uri_, offset + got, "the server sent none of the bytes asked for");
    }
  }

 private:
  std::string uri_;
  S3Location loc_;
  std::uint64_t size_;
  std::string etag_;
  S3Client client_;
};

}  // namespace

std::unique_ptr<ObjectFileBytes> open_object_file_bytes(const std::string& path, std::uint64_t size,
                                                        std::optional<std::int64_t> mtime_ns,
                                                        const std::string& etag) {
  if (is_s3_uri(path)) return std::make_unique<S3ObjectFileBytes>(path, size, etag);
  return std::make_unique<LocalObjectFileBytes>(path, size, mtime_ns);
}

}  // namespace spate::detail
