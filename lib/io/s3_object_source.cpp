// S3ObjectSource: an object's bytes through windows of ranged GETs.
#include "io/s3_object_source.hpp"

#include <algorithm>

#include "s3/s3_client.hpp"

namespace spate::detail {

namespace {

/// Past a split's end, a line usually ends within this much.
constexpr std::uint64_t kTailBytes = 1 << 20;
/// The range of each GET after the first.
constexpr std::uint64_t kWindowBytes = 8 << 20;

class S3ObjectSource final : public ByteSource {
 public:
  S3ObjectSource(S3Location loc, std::string etag, std::uint64_t size, std::uint64_t offset,
                 std::uint64_t end_hint)
      : client_(S3Config::from_environment()),
        loc_(std::move(loc)),
        etag_(std::move(etag)),
        size_(size),
        offset_(offset),
        next_window_end_(std::min(size, std::max(end_hint, offset) + kTailBytes)) {}

  std::size_t read(char* dst, std::size_t max) override {
    for (;;) {
      if (offset_ >= size_) return 0;
      if (offset_ >= window_end_) {
        window_end_ = std::max(next_window_end_, std::min(size_, offset_ + kWindowBytes));
        next_window_end_ = 0;
        client_.start_get(loc_.bucket, loc_.key, offset_, window_end_, etag_);
      }
      std::size_t n = client_.read_body(dst, max);
      offset_ += n;
      if (n > 0) return n;
      window_end_ = offset_;  // the window ended (or the server sent less): ask for the rest
    }
  }

  // Every GET asked for the planned ETag, so whatever was read belongs to the planned version.
  void check_unchanged() const override {}

 private:
  S3Client client_;
  S3Location loc_;
  std::string etag_;
  std::uint64_t size_;
  std::uint64_t offset_;
  std::uint64_t window_end_ = 0;  // end of the range being read; offset_ >= it: none
  std::uint64_t next_window_end_;
};

}  // namespace

std::unique_ptr<ByteSource> open_s3_source(const std::string& uri, const std::string& etag,
                                           std::uint64_t size, std::uint64_t offset,
                                           std::uint64_t end_hint) {
  return std::make_unique<S3ObjectSource>(parse_s3_uri(uri), etag, size, offset, end_hint);
}

}  // namespace spate::detail
