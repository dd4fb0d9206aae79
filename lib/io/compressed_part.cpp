// Compressed text parts: a part file written through one streaming gzip or zstd compressor.
#include "io/compressed_part.hpp"

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>

#include "spate/error.hpp"

namespace spate::detail {
namespace {

// Input gathered before a call to the compressor: one call per line would cost more than the
// compression itself for short lines.
constexpr std::size_t kInputBytes = std::size_t{256} << 10;

/// Gathers input and hands it to the compressor a buffer at a time.
class BufferedCompressedPart : public PartOutputSink::Part {
 public:
  BufferedCompressedPart(std::unique_ptr<PartOutputSink::Part> part, std::string name)
      : writer_(std::move(part)), name_(std::move(name)) {
    input_.reserve(kInputBytes);
  }
  void write_line(std::string_view line) override {
    write(line);
    write("\n");
  }
  void write(std::string_view bytes) override {
    if (input_.size() + bytes.size() > kInputBytes) {
      compress(input_, false);
      input_.clear();
      if (bytes.size() > kInputBytes) {
        compress(bytes, false);
        return;
      }
    }
    input_.append(bytes);
  }
  void commit() override {
    compress(input_, true);
    input_.clear();
    writer_->commit();
  }

 protected:
  /// Compresses `bytes` into the writer; with `end`, also ends the stream.
  virtual void compress(std::string_view bytes, bool end) = 0;

  std::unique_ptr<PartOutputSink::Part> writer_;  // aborts itself on destruction unless committed
  std::string name_;                              // the part, for errors
  std::string output_;                            // compressed bytes on their way to writer_

 private:
  std::string input_;
};

class GzipPart final : public BufferedCompressedPart {
 public:
  GzipPart(std::unique_ptr<PartOutputSink::Part> part, std::string name, int level)
      : BufferedCompressedPart(std::move(part), std::move(name)) {
    if (level == 0) level = Z_DEFAULT_COMPRESSION;
    if (level != Z_DEFAULT_COMPRESSION && (level < 1 || level > 9))
      throw config_error(fmt::format("gzip compression level {} is out of range (1 to 9, or 0 for the default)", level));
    // 15 + 16: the largest window, with a gzip header and trailer rather than zlib's.
    if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw io_error(fmt::format("cannot start gzip compression of '{}'", name_));
    output_.resize(kInputBytes);
  }
  ~GzipPart() override { deflateEnd(&zs_); }

 protected:
  void compress(std::string_view bytes, bool end) override {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs_.avail_in = static_cast<uInt>(bytes.size());
    int flush = end ? Z_FINISH : Z_NO_FLUSH;
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(output_.data());
      zs_.avail_out = static_cast<uInt>(output_.size());
      int rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR)
        throw io_error(fmt::format("gzip compression of '{}' failed", name_));
      writer_->write(std::string_view(output_.data(), output_.size() - zs_.avail_out));
      if (end ? rc == Z_STREAM_END : zs_.avail_in == 0 && zs_.avail_out != 0) return;
    }
  }

 private:
  z_stream zs_{};
};

class ZstdPart final : public BufferedCompressedPart {
 public:
  ZstdPart(std::unique_ptr<PartOutputSink::Part> part, std::string name, int level)
      : BufferedCompressedPart(std::move(part), std::move(name)), cctx_(ZSTD_createCCtx()) {
    if (cctx_ == nullptr)
      throw io_error(fmt::format("cannot start zstd compression of '{}'", name_));
    if (level == 0) level = ZSTD_CLEVEL_DEFAULT;
    if (level < 1 || level > ZSTD_maxCLevel()) {
      ZSTD_freeCCtx(cctx_);
      throw config_error(fmt::format("zstd compression level {} is out of range (1 to {}, or 0 for the default)",
                                     level, ZSTD_maxCLevel()));
    }
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    output_.resize(ZSTD_CStreamOutSize());
  }
  ~ZstdPart() override { ZSTD_freeCCtx(cctx_); }

 protected:
  void compress(std::string_view bytes, bool end) override {
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    for (;;) {
      ZSTD_outBuffer out{output_.data(), output_.size(), 0};
      std::size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(left))
        throw io_error(fmt::format("zstd compression of '{}' failed: {}", name_,
                                   ZSTD_getErrorName(left)));
      writer_->write(std::string_view(output_.data(), out.pos));
      if (end ? left == 0 : in.pos == in.size) return;
    }
  }

 private:
  ZSTD_CCtx* cctx_;
};

}  // namespace

std::string_view compressed_part_suffix(Compression compression) noexcept {
  switch (compression) {
    case Compression::gzip: return ".gz";
    case Compression::zstd: return ".zst";
    case Compression::none: break;
  }
  return "";
}

std::unique_ptr<PartOutputSink::Part> make_compressed_part(std::unique_ptr<PartOutputSink::Part> part,
                                                           std::string name,
                                                           const TextOutputOptions& options) {
  switch (options.compression) {
    case Compression::gzip: return std::make_unique<GzipPart>(std::move(part), std::move(name), options.level);
    case Compression::zstd: return std::make_unique<ZstdPart>(std::move(part), std::move(name), options.level);
    case Compression::none: break;
  }
  throw config_error("make_compressed_part: no compression asked for");
}

}  // namespace spate::detail
