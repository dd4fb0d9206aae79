// Reading the lines of one input split, from plain, gzip or zstd files.
#include "io/line_reader.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "io/byte_source.hpp"
#include "io/s3_object_source.hpp"
#include "s3/s3_config.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

/// Below this, reading past a split's end is not worth a separate, smaller read call.
constexpr std::size_t kMinReadBytes = 64 << 10;
/// Compressed input is read in chunks of this size.
constexpr std::size_t kCompressedChunkBytes = 256 << 10;

/// The system's description of an errno value; thread-safe, unlike strerror.
std::string errno_text(int err) { return std::system_category().message(err); }

/// A modification time in nanoseconds since the epoch as UTC text, for messages.
std::string time_text(std::int64_t ns) {
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:09} UTC", text, frac);
}

/// An open input file, closed on destruction, with the size and modification time it had when
/// the job was planned: check_unchanged() fails if it no longer has them.
class FileHandle {
 public:
  /// Opens path for reading; throws io_error when it fails or the file is not as planned.
  FileHandle(const std::string& path, std::uint64_t planned_size,
             std::optional<std::int64_t> planned_mtime_ns)
      : path_(path), planned_size_(planned_size), planned_mtime_ns_(planned_mtime_ns) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      int err = errno;
      throw io_error(fmt::format("cannot open input file '{}': {}{}", path, errno_text(err),
                                 err == ENOENT ? "; it was removed or renamed since the job was "
                                                 "planned"
                                               : ""));
    }
    try {
      check_unchanged();
    } catch (...) {
      ::close(fd_);
      throw;
    }
  }
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(FileHandle&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        path_(std::move(other.path_)),
        planned_size_(other.planned_size_),
        planned_mtime_ns_(other.planned_mtime_ns_) {}
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  FileHandle& operator=(FileHandle&&) = delete;

  /// The descriptor, owned by this handle.
  int fd() const noexcept { return fd_; }

  /// Throws io_error unless the open file is still a regular file with the planned size and
  /// modification time (the cheap check rsync and make use: a rewrite of the same size within
  /// the file system's timestamp granularity goes unnoticed). Without a planned mtime, only a
  /// file shorter than planned fails.
  void check_unchanged() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      throw io_error(fmt::format("cannot stat input file '{}': {}", path_, errno_text(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
      throw io_error(fmt::format(
          "input file '{}' changed since the job was planned: it is no longer a regular file",
          path_));
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    std::int64_t mtime = mtime_ns_of(st);
    if (planned_mtime_ns_ && (size != planned_size_ || mtime != *planned_mtime_ns_)) {
      throw io_error(fmt::format(
          "input file '{}' changed since the job was planned: it had {} bytes, modified {}; it "
          "now has {} bytes, modified {}",
          path_, planned_size_, time_text(*planned_mtime_ns_), size, time_text(mtime)));
    }
    if (size < planned_size_) {
      throw io_error(fmt::format(
          "input file '{}' has {} bytes but had {} when the job was planned; it changed while "
          "being read",
          path_, size, planned_size_));
    }
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::uint64_t planned_size_;
  std::optional<std::int64_t> planned_mtime_ns_;
};

/// The raw bytes [offset, limit) of a file; fails if the file ends before limit.
class PlainSource final : public ByteSource {
 public:
  PlainSource(FileHandle file, std::string path, std::uint64_t offset, std::uint64_t limit)
      : file_(std::move(file)), path_(std::move(path)), offset_(offset), limit_(limit) {
    // Only a hint; the kernel reads ahead more aggressively for sequential access.
    ::posix_fadvise(file_.fd(), static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  }

  std::size_t read(char* dst, std::size_t max) override {
    if (offset_ >= limit_) return 0;
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, limit_ - offset_));
    for (;;) {
      ssize_t n = ::pread(file_.fd(), dst, want, static_cast<off_t>(offset_));
      if (n > 0) {
        offset_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
      }
      if (n == 0) {
        throw io_error(fmt::format(
            "input file '{}' ends at offset {} but had {} bytes when the job was planned; it "
            "shrank while being read",
            path_, offset_, limit_));
      }
      if (errno != EINTR) {
        throw io_error(fmt::format("cannot read input file '{}' at offset {}: {}", path_, offset_,
                                   errno_text(errno)));
      }
    }
  }

  void check_unchanged() const override { file_.check_unchanged(); }

  /// The file offset of the next byte read() returns.
  std::uint64_t offset() const noexcept { return offset_; }

 private:
  FileHandle file_;
  std::string path_;
  std::uint64_t offset_;
  std::uint64_t limit_;
};

/// The decompressed bytes of a gzip file: one or more concatenated members (as `cat a.gz b.gz`
/// makes). Anything after a member that is not another member is reported as corrupt.
class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> input, std::string path)
      : input_(std::move(input)),
        path_(std::move(path)),
        in_(std::make_unique_for_overwrite<unsigned char[]>(kCompressedChunkBytes)) {
    // 15 + 32: the largest window, and detect a gzip (or zlib) header by itself.
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) {
      throw io_error(fmt::format("cannot start gzip decompression of '{}'", path_));
    }
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  void check_unchanged() const override { input_->check_unchanged(); }

  std::size_t read(char* dst, std::size_t max) override {
    std::size_t produced = 0;
    while (produced < max) {
      if (zs_.avail_in == 0 && !eof_) refill();
      // Input exhausted between members: the clean end of the file.
      if (zs_.avail_in == 0 && eof_ && !in_member_) break;
      if (!in_member_) {
        if (inflateReset(&zs_) != Z_OK) throw corrupt("cannot reset the decompressor");
        in_member_ = true;
      }
      zs_.next_out = reinterpret_cast<unsigned char*>(dst + produced);
      zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(max - produced, 1u << 30));
      int rc = inflate(&zs_, Z_NO_FLUSH);
      produced = static_cast<std::size_t>(reinterpret_cast<char*>(zs_.next_out) - dst);
      if (rc == Z_STREAM_END) {
        in_member_ = false;
      } else if (rc == Z_BUF_ERROR) {
        // No progress was possible: fine if more input is coming, truncation if not.
        if (zs_.avail_in == 0 && eof_) {
          throw io_error(fmt::format(
              "truncated gzip file '{}': it ends at compressed offset {} inside a member", path_,
              consumed_offset()));
        }
      } else if (rc != Z_OK) {
        throw corrupt(zs_.msg != nullptr ? zs_.msg : "invalid data");
      }
    }
    return produced;
  }

 private:
  /// Reads the next chunk of compressed bytes; sets eof_ when there is none.
  void refill() {
    in_start_ = raw_read_;
    std::size_t n = input_->read(reinterpret_cast<char*>(in_.get()), kCompressedChunkBytes);
    raw_read_ += n;
    zs_.next_in = in_.get();
    zs_.avail_in = static_cast<uInt>(n);
    if (n == 0) eof_ = true;
  }
  /// The compressed offset of the next byte the decompressor would consume.
  std::uint64_t consumed_offset() const {
    return in_start_ + static_cast<std::uint64_t>(zs_.next_in - in_.get());
  }
  /// The error for undecodable data at the current compressed offset.
  io_error corrupt(const char* why) const {
    return io_error(fmt::format("corrupt gzip file '{}' at compressed offset {}: {}", path_,
                                consumed_offset(), why));
  }

  std::unique_ptr<ByteSource> input_;  // the compressed bytes from offset 0
  std::string path_;
  std::unique_ptr<unsigned char[]> in_;
  std::uint64_t raw_read_ = 0;  // compressed bytes read from input_
  std::uint64_t in_start_ = 0;  // compressed offset of in_[0]
  z_stream zs_{};
  bool in_member_ = false;  // a member has started and not yet ended
  bool eof_ = false;
};

/// The decompressed bytes of a zstd file: one or more frames (skippable frames are skipped).
class ZstdSource final : public ByteSource {
 public:
  ZstdSource(std::unique_ptr<ByteSource> input, std::string path)
      : input_(std::move(input)),
        path_(std::move(path)),
        in_buf_(std::make_unique_for_overwrite<char[]>(kCompressedChunkBytes)),
        dctx_(ZSTD_createDCtx()) {
    if (dctx_ == nullptr) {
      throw io_error(fmt::format("cannot start zstd decompression of '{}'", path_));
    }
  }
  ~ZstdSource() override { ZSTD_freeDCtx(dctx_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  void check_unchanged() const override { input_->check_unchanged(); }

  std::size_t read(char* dst, std::size_t max) override {
    ZSTD_outBuffer out{dst, max, 0};
    while (out.pos < out.size) {
      if (in_.pos == in_.size && !eof_) refill();
      bool input_done = eof_ && in_.pos == in_.size;
      if (input_done && !in_frame_) break;  // the clean end, between frames
      std::size_t before = out.pos;
      std::size_t rc = ZSTD_decompressStream(dctx_, &out, &in_);
      if (ZSTD_isError(rc)) {
        throw io_error(fmt::format("corrupt zstd file '{}' at compressed offset {}: {}", path_,
                                   in_start_ + in_.pos, ZSTD_getErrorName(rc)));
      }
      in_frame_ = rc != 0;  // 0: a frame ended and all its output was flushed
      if (input_done && out.pos == before) {
        if (in_frame_) {
          throw io_error(fmt::format(
              "truncated zstd file '{}': it ends at compressed offset {} inside a frame", path_,
              in_start_ + in_.pos));
        }
        break;
      }
    }
    return out.pos;
  }

 private:
  /// Reads the next chunk of compressed bytes; sets eof_ when there is none.
  void refill() {
    in_start_ = raw_read_;
    std::size_t n = input_->read(in_buf_.get(), kCompressedChunkBytes);
    raw_read_ += n;
    in_ = ZSTD_inBuffer{in_buf_.get(), n, 0};
    if (n == 0) eof_ = true;
  }

  std::unique_ptr<ByteSource> input_;  // the compressed bytes from offset 0
  std::string path_;
  std::unique_ptr<char[]> in_buf_;
  std::uint64_t raw_read_ = 0;  // compressed bytes read from input_
  ZSTD_inBuffer in_{nullptr, 0, 0};
  std::uint64_t in_start_ = 0;  // compressed offset of in_buf_[0]
  ZSTD_DCtx* dctx_;
  bool in_frame_ = false;  // a frame has started and not yet been fully decoded
  bool eof_ = false;
};

/// The bytes of a file or S3 object from offset on (compressed files only from 0), decompressed
/// as needed. expected_size, mtime_ns and etag are what it had at planning; reading stops at
/// that size. end_hint is where the caller expects to stop (about), for S3's first range.
std::unique_ptr<ByteSource> open_source(const std::string& path, Compression compression,
                                        std::uint64_t expected_size,
                                        std::optional<std::int64_t> mtime_ns,
                                        const std::string& etag, std::uint64_t offset,
                                        std::uint64_t end_hint) {
  std::unique_ptr<ByteSource> raw;
  if (is_s3_uri(path)) {
    raw = open_s3_source(path, etag, expected_size, compression == Compression::none ? offset : 0,
                         compression == Compression::none ? end_hint : expected_size);
  } else {
    raw = std::make_unique<PlainSource>(FileHandle(path, expected_size, mtime_ns), path,
                                        compression == Compression::none ? offset : 0,
                                        expected_size);
  }
  switch (compression) {
    case Compression::none:
      return raw;
    case Compression::gzip:
      return std::make_unique<GzipSource>(std::move(raw), path);
    case Compression::zstd:
      return std::make_unique<ZstdSource>(std::move(raw), path);
  }
  throw io_error(fmt::format("unknown compression for input file '{}'", path));
}

/// Counts the '\n' in the first offset bytes of the (decompressed) file, plus one.
std::uint64_t count_lines_before(const std::string& path, Compression compression,
                                 std::uint64_t expected_size,
                                 std::optional<std::int64_t> mtime_ns, const std::string& etag,
                                 std::uint64_t offset) {
  if (compression == Compression::none && offset > expected_size) {
    throw io_error(fmt::format("offset {} is past the end of input file '{}' ({} bytes)", offset,
                               path, expected_size));
  }
  std::unique_ptr<ByteSource> source =
      open_source(path, compression, expected_size, mtime_ns, etag, 0, offset);
  constexpr std::size_t kChunk = 1 << 20;
  auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  std::uint64_t seen = 0;
  std::uint64_t newlines = 0;
  while (seen < offset) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, offset - seen));
    std::size_t n = source->read(buf.get(), want);
    if (n == 0) {
      throw io_error(
          fmt::format("offset {} is past the end of input file '{}' ({} bytes decompressed)",
                      offset, path, seen));
    }
    const char* p = buf.get();
    const char* stop = p + n;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', stop - p))) != nullptr) {
      ++newlines;
      ++p;
    }
    seen += n;
  }
  return newlines + 1;
}

}  // namespace

LineReader::LineReader(const InputSplit& split, std::size_t buffer_bytes)
    : path_(split.path),
      end_(split.compression == Compression::none ? split.end
                                                  : std::numeric_limits<std::uint64_t>::max()),
      buf_(std::make_unique_for_overwrite<char[]>(std::max<std::size_t>(buffer_bytes, 1) +
                                                  kBufferSlack)),
      cap_(std::max<std::size_t>(buffer_bytes, 1)) {
  if (split.compression != Compression::none) {
    source_ = open_source(path_, split.compression, split.file_size, split.file_mtime_ns,
                          split.etag, 0, split.file_size);
    return;
  }
  if (split.begin >= split.end || split.begin >= split.file_size) {
    // Nothing starts here, but opening still reports a missing or shrunken file.
    if (!is_s3_uri(path_)) FileHandle check(path_, split.file_size, split.file_mtime_ns);
    done_ = true;
    return;
  }
  // A split that does not start the file begins one byte early: if that byte is '\n', a line
  // starts exactly at begin and is ours.
  buf_offset_ = split.begin == 0 ? 0 : split.begin - 1;
  source_ = open_source(path_, Compression::none, split.file_size, split.file_mtime_ns, split.etag,
                        buf_offset_, split.end);
  if (split.begin > 0) skip_partial_first_line();
}

LineReader::~LineReader() = default;

bool LineReader::finish() {
  done_ = true;
  // A file rewritten while this split was read may have given lines of two versions.
  source_->check_unchanged();
  return false;
}

void LineReader::skip_partial_first_line() {
  for (;;) {
    if (!fill()) {
      finish();
      return;
    }
    const void* nl = std::memchr(buf_.get(), '\n', len_);
    if (nl != nullptr) {
      pos_ = scan_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get()) + 1;
      return;
    }
    // The whole buffer belongs to a line that started before the split: drop it, never grow.
    buf_offset_ += len_;
    len_ = pos_ = scan_ = 0;
  }
}

bool LineReader::fill(std::size_t max_read) {
  if (pos_ > 0) {
    // Move the partial line to the front; it is usually short, and a long line moves only once.
    std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
    buf_offset_ += pos_;
    len_ -= pos_;
    scan_ -= pos_;
    pos_ = 0;
  } else if (len_ == cap_) {
    std::size_t new_cap = cap_ * 2;
    auto bigger = std::make_unique_for_overwrite<char[]>(new_cap + kBufferSlack);
    std::memcpy(bigger.get(), buf_.get(), len_);
    buf_ = std::move(bigger);
    cap_ = new_cap;
  }
  // Past the split's end we only finish the last line, so do not read a whole buffer for it.
  std::uint64_t read_at = buf_offset_ + len_;
  std::uint64_t until_end = read_at < end_ ? end_ - read_at : 0;
  std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(cap_ - len_, std::max<std::uint64_t>(until_end, kMinReadBytes)));
  if (max_read != 0) want = std::min(want, max_read);
  std::size_t n = source_->read(buf_.get() + len_, want);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  len_ += n;
  return true;
}

bool LineReader::next(std::string_view& line) {
  if (done_) return false;
  if (buf_offset_ + pos_ >= end_) return finish();  // the line starting here is the next split's
  std::size_t stop;
  for (;;) {
    if (scan_ < len_) {
      const void* nl = std::memchr(buf_.get() + scan_, '\n', len_ - scan_);
      if (nl != nullptr) {
        stop = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get());
        break;
      }
      scan_ = len_;
    }
    if (eof_) {
      if (pos_ == len_) return finish();
      stop = len_;  // a last line without '\n'
      break;
    }
    fill();
  }
  const char* start = buf_.get() + pos_;
  std::size_t size = stop - pos_;
  if (size > 0 && start[size - 1] == '\r') --size;
  line = std::string_view(start, size);
  line_offset_ = buf_offset_ + pos_;
  pos_ = scan_ = std::min(stop + 1, len_);
  return true;
}

bool LineReader::next_block(LineBlock& block, std::size_t max_read) {
  if (done_) return false;
  if (buf_offset_ + pos_ >= end_) return finish();  // the line starting here is the next split's
  std::size_t cut;  // the block is [pos_, cut)
  for (;;) {
    if (buf_offset_ + len_ > end_) {
      // The buffer reaches past the split: its last line is the one holding byte end_ - 1.
      const auto last = static_cast<std::size_t>(end_ - 1 - buf_offset_);
      const std::size_t from = std::max(last, scan_);
      const void* nl = std::memchr(buf_.get() + from, '\n', len_ - from);
      if (nl != nullptr) {
        cut = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get()) + 1;
        break;
      }
      scan_ = len_;
    } else if (scan_ < len_) {
      const void* nl = ::memrchr(buf_.get() + scan_, '\n', len_ - scan_);
      if (nl != nullptr) {
        cut = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get()) + 1;
        break;
      }
      scan_ = len_;
    }
    if (eof_) {
      if (pos_ == len_) return finish();
      buf_[len_] = '\n';  // a last line without one; the padding has room
      block = LineBlock{buf_.get() + pos_, buf_.get() + len_ + 1, buf_offset_ + pos_};
      pos_ = scan_ = len_;
      return true;
    }
    fill(max_read);
  }
  block = LineBlock{buf_.get() + pos_, buf_.get() + cut, buf_offset_ + pos_};
  pos_ = scan_ = cut;
  return true;
}

std::uint64_t line_number_at(const InputSplit& split, std::uint64_t offset) {
  return count_lines_before(split.path, split.compression, split.file_size, split.file_mtime_ns,
                            split.etag, offset);
}

std::uint64_t line_number_at(const InputFile& file, std::uint64_t offset) {
  return count_lines_before(file.path, file.compression, file.size, file.mtime_ns, file.etag,
                            offset);
}

}  // namespace spate::detail
