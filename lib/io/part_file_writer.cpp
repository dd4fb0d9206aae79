// Writing a job's text output as part files, committed by rename.
#include "io/part_file_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "spate/error.hpp"

namespace spate::detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTemporaryDir = "_temporary";
constexpr const char* kSuccessMarker = "_SUCCESS";
// In _temporary; flock'ed by the driver from prepare() to the job's end, so that a second job
// does not take a running job's output for the leftovers of a dead one. The kernel drops the
// lock when the process dies, however it dies.
constexpr const char* kLockFile = "_lock";

/// True for the name of a part file: "part-", at least five digits, and ".gz" or ".zst" for a
/// compressed part.
bool is_part_name(std::string_view name) {
  for (std::string_view suffix : {".gz", ".zst"}) {
    if (name.ends_with(suffix)) {
      name.remove_suffix(suffix.size());
      break;
    }
  }
  if (!name.starts_with("part-") || name.size() < 10) return false;
  return std::all_of(name.begin() + 5, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

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
  write(line);
  write("\n");
}

void PartWriter::write(std::string_view bytes) {
  if (state_ != State::open) {
    throw io_error(fmt::format("output file '{}' is already committed or aborted", temp_path_));
  }
  bytes_written_ += bytes.size();
  if (bytes.size() > kBufferBytes - len_) {
    flush();
    if (bytes.size() > kBufferBytes) {
      write_all(bytes.data(), bytes.size());  // a huge piece goes straight to the file
      return;
    }
  }
  if (!bytes.empty()) {  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(buf_.get() + len_, bytes.data(), bytes.size());
    len_ += bytes.size();
  }
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

std::vector<fs::path> OutputCommitter::earlier_output() const {
  std::vector<fs::path> leftovers;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    std::error_code type_ec;
    if (name == kSuccessMarker) {
      throw io_error(fmt::format(
          "output directory '{}' already holds a complete output (it has {}); remove it or "
          "choose another directory",
          dir_, kSuccessMarker));
    }
    if (name == kTemporaryDir && it->is_directory(type_ec) && !it->is_symlink(type_ec)) {
      for (fs::directory_iterator t(path, ec); !ec && t != fs::directory_iterator();
           t.increment(ec)) {
        if (t->path().filename() != kLockFile) leftovers.push_back(t->path());
      }
      continue;
    }
    if (is_part_name(name) && it->is_regular_file(type_ec) && !it->is_symlink(type_ec)) {
      leftovers.push_back(path);
      continue;
    }
    throw io_error(fmt::format(
        "output directory '{}' already exists and holds '{}', which is not part of an earlier "
        "spate output (only part files and {} are cleared); remove it or choose another directory",
        dir_, name, kTemporaryDir));
  }
  if (ec) {
    throw io_error(fmt::format("cannot list output directory '{}': {}", dir_, ec.message()));
  }
  return leftovers;
}

void OutputCommitter::prepare() {
  std::error_code ec;
  fs::file_status status = fs::status(dir_, ec);
  bool existed = fs::exists(status);
  if (existed && !fs::is_directory(status)) {
    throw io_error(fmt::format("output path '{}' already exists and is not a directory", dir_));
  }
  if (existed) earlier_output();  // refuse before touching anything
  fs::create_directories(temp_dir_, ec);
  if (ec) {
    throw io_error(fmt::format("cannot create output directory '{}': {}", temp_dir_, ec.message()));
  }
  lock_job();
  // Under the lock no other job writes here, and one that held it has finished or died: what is
  // left of it is an incomplete output, or a complete one if it finished meanwhile.
  std::vector<fs::path> leftovers;
  try {
    leftovers = earlier_output();
  } catch (...) {
    unlock_job(/*remove=*/true);
    throw;
  }
  for (const fs::path& path : leftovers) {
    fs::remove_all(path, ec);
    if (ec) {
      unlock_job(/*remove=*/true);
      throw io_error(fmt::format("cannot remove '{}' of an earlier incomplete output: {}",
                                 path.string(), ec.message()));
    }
  }
}

void OutputCommitter::lock_job() {
  std::string lock_path = (fs::path(temp_dir_) / kLockFile).string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw io_error(fmt::format("cannot create '{}': {}", lock_path, errno_text(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      ::close(fd);
      throw io_error(fmt::format(
          "output directory '{}' is being written by another job that is still running (it "
          "holds '{}'); wait for it to end or choose another directory",
          dir_, lock_path));
    }
    // A file system without locks: go on unprotected, as without this check.
  }
  lock_fd_ = fd;
}

void OutputCommitter::unlock_job(bool remove) noexcept {
  if (lock_fd_ < 0) return;
  if (remove) {
    // Only what prepare() added: the lock file, and _temporary if nothing else is in it.
    ::unlink((fs::path(temp_dir_) / kLockFile).c_str());
    ::rmdir(temp_dir_.c_str());
  }
  ::close(lock_fd_);
  lock_fd_ = -1;
}

OutputCommitter::~OutputCommitter() { unlock_job(/*remove=*/false); }

std::unique_ptr<PartWriter> OutputCommitter::open_part(std::size_t partition, int attempt,
                                                       std::string_view suffix) const {
  std::string name = part_name(partition);
  name += suffix;
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
  // _SUCCESS first, while the lock is held: a job that takes the lock next sees a complete
  // output and refuses it, instead of clearing parts whose marker is not written yet.
  std::string marker = (fs::path(dir_) / kSuccessMarker).string();
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0 || ::close(fd) != 0) {
    throw io_error(fmt::format("cannot write '{}': {}", marker, errno_text(errno)));
  }
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
  unlock_job(/*remove=*/false);
  if (ec) {
    throw io_error(fmt::format("cannot remove '{}': {}", temp_dir_, ec.message()));
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
  unlock_job(/*remove=*/false);
}

}  // namespace spate::detail
