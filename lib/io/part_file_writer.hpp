// Writing a job's text output as part files, committed by rename so that a retried or duplicate
// task never leaves two copies. Internal; the engine includes it as "io/part_file_writer.hpp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spate::detail {

class OutputCommitter;

/// One attempt of one output partition, written into DIR/_temporary/part-NNNNN.attempt-A
/// through a large buffer. commit() publishes it as DIR/part-NNNNN unless another attempt of
/// the same partition got there first; abort(), or destruction without commit(), removes it.
/// Every write and close error (disk full, ...) throws io_error naming the file.
/// Not thread-safe: one writer belongs to one task. Its committer must outlive it.
class PartWriter {
 public:
  /// The size of the write buffer.
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  ~PartWriter();
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  /// Appends line and a '\n'.
  void write_line(std::string_view line);
  /// Appends bytes as they are (a binary part: checkpoints).
  void write(std::string_view bytes);

  /// Flushes and closes the temporary file (fsync'ing it first if the committer asks), then
  /// renames it to DIR/part-NNNNN if no attempt of this partition has been committed yet, in
  /// this process or another on the same file system. Returns true if this attempt's output
  /// became the part, false if an earlier commit won (this attempt's file is then deleted).
  bool commit();

  /// Closes and deletes the temporary file; the partition is left to another attempt.
  void abort() noexcept;

  /// The partition this writer writes.
  std::size_t partition() const noexcept { return partition_; }
  /// The attempt number given to open_part().
  int attempt() const noexcept { return attempt_; }
  /// The temporary file being written.
  const std::string& temp_path() const noexcept { return temp_path_; }
  /// Bytes handed to write_line() and write() so far, newlines included.
  std::uint64_t bytes_written() const noexcept { return bytes_written_; }

 private:
  friend class OutputCommitter;
  enum class State { open, committed, aborted };

  PartWriter(const OutputCommitter& committer, std::size_t partition, int attempt,
             std::string temp_path, std::string final_path);
  /// Writes the buffered bytes to the file.
  void flush();
  /// Writes size bytes straight to the file, retrying short writes.
  void write_all(const char* data, std::size_t size);

  const OutputCommitter& committer_;
  std::size_t partition_;
  int attempt_;
  std::string temp_path_;
  std::string final_path_;
  int fd_ = -1;
  std::unique_ptr<char[]> buf_;
  std::size_t len_ = 0;
  std::uint64_t bytes_written_ = 0;
  State state_ = State::open;
};

/// The output directory of one save_as_text_file job, with Hadoop's layout: part-NNNNN files,
/// a _temporary directory while the job runs, and an empty _SUCCESS marker once it succeeded.
/// The driver calls prepare() before any task, then finish() or abort_job(); tasks, in any
/// thread or process that constructs a committer for the same directory, call open_part().
/// Thread-safe: tasks may open and commit parts concurrently.
class OutputCommitter {
 public:
  /// A committer for dir; with sync_on_commit, each part is fsync'ed before it is published
  /// (off by default, as in Hadoop: the page cache is trusted, and _SUCCESS marks completion).
  explicit OutputCommitter(std::string dir, bool sync_on_commit = false);

  /// Creates dir (and its parents) and dir/_temporary, and locks the directory for this job
  /// (a lock the kernel drops if the process dies). A directory left by an earlier job that did
  /// not finish (only part-NNNNN files and _temporary, no _SUCCESS) is cleared and reused.
  /// Throws io_error, saying why and what to do, if dir holds a complete output (_SUCCESS),
  /// anything else, is being written by a job that is still running, is not a directory, or
  /// cannot be created or cleared.
  void prepare();

  /// Starts writing attempt of partition into dir/_temporary (truncating a leftover file of
  /// the same attempt), to be published as part-NNNNN followed by `suffix` (".gz", ".zst" or
  /// nothing). Throws io_error when the file cannot be created, e.g. before prepare() or after
  /// finish().
  std::unique_ptr<PartWriter> open_part(std::size_t partition, int attempt,
                                        std::string_view suffix = {}) const;

  /// Ends a successful job: writes the empty dir/_SUCCESS, then removes dir/_temporary (and any
  /// uncommitted attempt in it) and releases the directory. Throws io_error when either fails.
  void finish();

  /// Ends a failed job, best effort: removes dir/_temporary, every part file and any _SUCCESS,
  /// so nothing in dir looks like complete output, and releases the directory. A straggling
  /// task that commits afterwards can still add a part, but never a _SUCCESS.
  void abort_job() noexcept;

  /// Releases the directory if prepare() locked it and no finish() or abort_job() did.
  ~OutputCommitter();
  OutputCommitter(const OutputCommitter&) = delete;
  OutputCommitter& operator=(const OutputCommitter&) = delete;

  /// The output directory.
  const std::string& dir() const noexcept { return dir_; }

  /// The name of a partition's file: "part-" and the partition number, at least 5 digits.
  static std::string part_name(std::size_t partition);

 private:
  friend class PartWriter;
  /// Moves temp_path to final_path unless final_path exists; true if it moved. Deletes
  /// temp_path when it did not. Atomic across processes where the file system allows.
  bool publish(const std::string& temp_path, const std::string& final_path) const;
  /// The entries an earlier, unfinished job left in dir (part files, and what is in _temporary
  /// apart from the lock); throws io_error if dir holds _SUCCESS or anything else.
  std::vector<std::filesystem::path> earlier_output() const;
  /// Opens and flock's dir/_temporary/_lock into lock_fd_; throws io_error if another process
  /// holds it.
  void lock_job();
  /// Closes lock_fd_; with remove, also deletes the lock file and an empty _temporary.
  void unlock_job(bool remove) noexcept;

  std::string dir_;
  std::string temp_dir_;
  bool sync_on_commit_;
  int lock_fd_ = -1;  // the flock'ed dir/_temporary/_lock, from prepare() to the job's end
  // Serialises publishing only on file systems with neither no-replace rename nor hard links.
  mutable std::mutex publish_mutex_;
};

}  // namespace spate::detail
