// Writing a job's text output as part files, committed by rename.
#include "io/part_file_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "spate/error.hpp"

namespace spate::detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTemporaryDir = "_temporary";
constexpr const char* kSuccessMarker = "_SUCCESS";

/// The system's description of an errno value; thread-safe, unlike strerror.
std::string errno_text(int err) { return std::system_category().message(err); }

/// Outcome of one way of publishing a file without replacing an existing one.
enum class Publish { moved, lost, unsupported };

/// renameat2(RENAME_NOREPLACE): atomic, and fails with EEXIST if the target exists.
Publish rename_no_replace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return Publish::moved;
  }
  int err = errno;
  if (err == EEXIST) return Publish::lost;
  if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) return Publish::unsupported;
  throw io_error(
      fmt::format("cannot rename output file '{}' to '{}': {}", from, to, errno_text(err)));
#else
  (void)from;
  (void)to;
  return Publish::unsupported;
#endif
}

/// link(2) then unlink: also atomic against a concurrent publisher (NFS supports it).
Publish link_then_unlink(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) == 0) {
    ::unlink(from.c_str());
    return Publish::moved;
  }
  int err = errno;
  if (err == EEXIST) return Publish::lost;
  if (err == EPERM || err == EOPNOTSUPP || err == EMLINK) return Publish::unsupported;
  throw io_error(
      fmt::format("cannot link output file '{}' to '{}': {}", from, to, errno_text(err)));
}

// "host-pid": who writes a temporary file.
std::string writer_tag() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("{}-{}", host, ::getpid());
}

}  // namespace

// ---- PartWriter ----

PartWriter::PartWriter(const OutputCommitter& committer, std::size_t partition, int attempt,
                       std::string temp_path, std::string final_path)
    : committer_(committer),
      partition_(partition),
      attempt_(attempt),
      temp_path_(std::move(temp_path)),
      final_path_(std::move(final_path)),
      buf_(std::make_unique_for_overwrite<char[]>(kBufferBytes)) {
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    int err = errno;
    throw io_error(fmt::format("cannot create output file '{}': {}{}", temp_path_, errno_text(err),
                               err == ENOENT ? " (the output directory is not prepared, or the "
                                               "job has already finished)"
                                             : ""));
  }
}

PartWriter::~PartWriter() {
  if (state_ == State::open) abort();
}

void PartWriter::write_line(std::string_view line) {
  if (state_ != State::open) {
    throw io_error(fmt::format("output file '{}' is already committed or aborted", temp_path_));
  }
  bytes_written_ += line.size() + 1;
  if (line.size() + 1 > kBufferBytes - len_) {
    flush();
    if (line.size() + 1 > kBufferBytes) {
      write_all(line.data(), line.size());  // a huge line goes straight to the file
      line = {};
    }
  }
  if (!line.empty()) {  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(buf_.get() + len_, line.data(), line.size());
    len_ += line.size();
  }
  buf_[len_++] = '\n';
}

void PartWriter::flush() {
  write_all(buf_.get(), len_);
  len_ = 0;
}

void PartWriter::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(
          fmt::format("cannot write output file '{}': {}", temp_path_, errno_text(errno)));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

bool PartWriter::commit() {
  if (state_ != State::open) {
    throw io_error(fmt::format("output file '{}' is already committed or aborted", temp_path_));
  }
  flush();
  if (committer_.sync_on_commit_ && ::fsync(fd_) != 0) {
    throw io_error(fmt::format("cannot sync output file '{}': {}", temp_path_, errno_text(errno)));
  }
  // close() can report a deferred write error (NFS, quota): the data is not safe until it
  // succeeds, and the descriptor is gone either way.
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) {
    throw io_error(fmt::format("cannot close output file '{}': {}", temp_path_, errno_text(errno)));
  }
  bool won = committer_.publish(temp_path_, final_path_);
  state_ = State::committed;
  return won;
}

void PartWriter::abort() noexcept {
  if (state_ != State::open) return;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  ::unlink(temp_path_.c_str());
  state_ = State::aborted;
}

// ---- OutputCommitter ----

OutputCommitter::OutputCommitter(std::string dir, bool sync_on_commit)
    : dir_(std::move(dir)),
      temp_dir_((fs::path(dir_) / kTemporaryDir).string()),
      sync_on_commit_(sync_on_commit) {}

std::string OutputCommitter::part_name(std::size_t partition) {
  return fmt::format("part-{:05}", partition);
}

void OutputCommitter::prepare() {
  std::error_code ec;
  fs::file_status status = fs::status(dir_, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      throw io_error(fmt::format("output path '{}' already exists and is not a directory", dir_));
    }
    bool empty = fs::is_empty(dir_, ec);
    if (ec) {
      throw io_error(fmt::format("cannot list output directory '{}': {}", dir_, ec.message()));
    }
    if (!empty) {
      throw io_error(fmt::format(
          "output directory '{}' already exists and is not empty; remove it or choose another",
          dir_));
    }
  }
  fs::create_directories(temp_dir_, ec);
  if (ec) {
    throw io_error(fmt::format("cannot create output directory '{}': {}", temp_dir_, ec.message()));
  }
}

std::unique_ptr<PartWriter> OutputCommitter::open_part(std::size_t partition, int attempt) const {
  std::string name = part_name(partition);
  // Host and process make the name unique even for two runs of the same attempt: one on an
  // executor taken for lost that may still write, one on another executor (never the same one:
  // a lost executor gets no more tasks).
  std::string temp = (fs::path(temp_dir_) / fmt::format("{}.attempt-{}.{}", name, attempt, writer_tag())).string();
  std::string final_path = (fs::path(dir_) / name).string();
  return std::unique_ptr<PartWriter>(
      new PartWriter(*this, partition, attempt, std::move(temp), std::move(final_path)));
}

bool OutputCommitter::publish(const std::string& temp_path, const std::string& final_path) const {
  Publish result = rename_no_replace(temp_path, final_path);
  if (result == Publish::unsupported) result = link_then_unlink(temp_path, final_path);
  if (result == Publish::unsupported) {
    // Neither primitive exists here: first-wins holds within this process only.
    std::lock_guard<std::mutex> lock(publish_mutex_);
    std::error_code ec;
    if (fs::exists(final_path, ec)) {
      result = Publish::lost;
    } else {
      if (std::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        throw io_error(fmt::format("cannot rename output file '{}' to '{}': {}", temp_path,
                                   final_path, errno_text(errno)));
      }
      result = Publish::moved;
    }
  }
  if (result == Publish::lost) ::unlink(temp_path.c_str());
  return result == Publish::moved;
}

void OutputCommitter::finish() {
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
  if (ec) {
    throw io_error(fmt::format("cannot remove '{}': {}", temp_dir_, ec.message()));
  }
  std::string marker = (fs::path(dir_) / kSuccessMarker).string();
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0 || ::close(fd) != 0) {
    throw io_error(fmt::format("cannot write '{}': {}", marker, errno_text(errno)));
  }
}

void OutputCommitter::abort_job() noexcept {
  try {
    std::error_code ec;
    fs::remove_all(temp_dir_, ec);
    fs::remove(fs::path(dir_) / kSuccessMarker, ec);
    // Collect first: removing entries while iterating a directory is unspecified.
    std::vector<fs::path> parts;
    for (fs::directory_iterator it(dir_, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      if (it->path().filename().string().starts_with("part-")) parts.push_back(it->path());
    }
    for (const fs::path& part : parts) fs::remove(part, ec);
  } catch (...) {
    // Best effort by contract: the job has already failed with a better message.
  }
}

}  // namespace spate::detail
