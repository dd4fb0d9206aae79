// Spill files: where a task puts what does not fit in its memory budget. A file has no name
// (O_TMPFILE) or loses it at once, so it disappears when the task lets go of it, whether the
// job succeeds, fails, or its process is killed. Each block is stored as one chunk
// (block_codec.hpp): compressed, and checked when it is read back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "spate/detail/block_codec.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// An anonymous file of length-prefixed blocks, written once, then read back in order.
class SpillFile {
 public:
  /// Creates the file in `dir`, whose blocks `codec` compresses; throws io_error naming the
  /// directory when it cannot.
  SpillFile(const std::string& dir, Codec codec);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  /// Appends one block; throws io_error (with the reason: no space left, ...) when the write
  /// fails.
  void append(std::string_view block);
  /// Frees the buffer append() reuses (up to a block's size): a file kept long after it is
  /// written, as a spilled map output's is, should not hold it. append() may still follow.
  void end_writing() noexcept { std::string().swap(chunk_); }
  /// Bytes written so far (after compression).
  std::uint64_t size() const noexcept { return size_; }

  /// Reads the block at `offset` into `out` and returns the offset of the next one; returns
  /// `size()` when there is none. Throws io_error naming the file and the offset when the
  /// block is damaged (its checksum does not match) or cannot be read.
  std::uint64_t read(std::uint64_t offset, std::string& out) const;

  /// The file as /proc/self/fd/N: it has no other name. For messages and tests.
  std::string path() const;

 private:
  int fd_ = -1;
  std::string dir_;
  Codec codec_;
  std::uint64_t size_ = 0;
  std::string chunk_;  // the stored form of the block being written
};

/// A cached partition kept on disk (StorageLevel::disk_only, memory_and_disk): its records, as
/// a RunWriter wrote them, in a spill file that goes with the last reader.
struct DiskPartition {
  std::unique_ptr<SpillFile> file;
  std::uint64_t records = 0;
};

/// Writes records of type R to a spill file in blocks of about a megabyte.
template <class R>
class RunWriter {
 public:
  explicit RunWriter(SpillFile& file) : file_(file) {}
  void add(const R& r) {
    serialize_to(buffer_, r);
    if (buffer_.size() >= kBlockBytes) flush();
  }
  /// Writes what is buffered; call once after the last add().
  void flush() {
    if (buffer_.size() == 0) return;
    file_.append(buffer_.view());
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBlockBytes = std::size_t{1} << 20;
  SpillFile& file_;
  Writer buffer_;
};

/// Reads back, in order, the records a RunWriter wrote from `begin` to `end` of a spill file.
template <class R>
class RunReader {
 public:
  RunReader(const SpillFile& file, std::uint64_t begin, std::uint64_t end)
      : file_(file), next_(begin), end_(end) {}
  /// The next record; nullopt at the end of the run.
  std::optional<R> next() {
    while (!reader_ || reader_->at_end()) {
      if (next_ >= end_) return std::nullopt;
      next_ = file_.read(next_, block_);
      reader_.emplace(block_);
    }
    return std::optional<R>(deserialize_from<R>(*reader_));
  }

 private:
  const SpillFile& file_;
  std::uint64_t next_;
  std::uint64_t end_;
  std::string block_;
  std::optional<Reader> reader_;
};

}  // namespace spate::detail
