// A small S3 client: listing, HEAD, ranged GET streamed into the caller's buffer, PUT, DELETE and
// multipart uploads, signed with SigV4, retried on 5xx, throttling and broken connections.
// Internal to lib/; included as "s3/s3_client.hpp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3/s3_config.hpp"

namespace spate::detail {

/// One object as a listing or HEAD shows it. etag keeps its quotes, as S3 sends it.
struct S3Object {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;
};

/// One page of ListObjectsV2: objects, the common prefixes under a delimiter, and the token
/// of the next page (empty on the last).
struct S3ListPage {
  std::vector<S3Object> objects;
  std::vector<std::string> common_prefixes;
  std::string next_token;
};

/// An S3 endpoint reached over one keep-alive HTTP(S) connection, reopened when it breaks.
/// Not thread-safe: one client per task or thread. Every failure throws io_error naming the
/// operation, s3://bucket/key, the endpoint, the HTTP status and S3's error code and message
/// (or what the server sent instead, when it is not S3). Requests that fail with a 5xx status,
/// 429, SlowDown, RequestTimeout or a broken connection are retried with exponential backoff
/// up to config.max_attempts times in all.
class S3Client {
 public:
  explicit S3Client(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  /// The configuration in use.
  const S3Config& config() const noexcept;

  /// One page of ListObjectsV2 of bucket under prefix (delimiter "" lists recursively), at
  /// most max_keys entries, continuing from token (empty: the first page).
  S3ListPage list_page(const std::string& bucket, const std::string& prefix,
                       const std::string& delimiter, const std::string& token,
                       int max_keys = 1000);
  /// Every object of bucket under prefix, following the pages; sorted by key.
  std::vector<S3Object> list_all(const std::string& bucket, const std::string& prefix,
                                 const std::string& delimiter, int max_keys = 1000);

  /// The object's size and ETag, or nullopt when there is no such key (the bucket exists).
  std::optional<S3Object> head(const std::string& bucket, const std::string& key);

  /// Starts a GET of bytes [begin, end) of key, which must still have etag (If-Match; an
  /// empty etag is not checked). Then read_body() gives the bytes. A 412 answer throws
  /// io_error saying the object changed since the job was planned.
  void start_get(const std::string& bucket, const std::string& key, std::uint64_t begin,
                 std::uint64_t end, const std::string& etag);
  /// Reads up to max bytes of the started GET's body straight into dst; 0 at its end. Throws
  /// io_error when the connection breaks (the caller may start_get() again from where it is).
  std::size_t read_body(char* dst, std::size_t max);

  /// Writes body as the whole object key.
  void put(const std::string& bucket, const std::string& key, std::string_view body);
  /// Deletes key (no error if it does not exist).
  void remove(const std::string& bucket, const std::string& key);

  /// Starts a multipart upload of key; returns its upload id.
  std::string create_multipart(const std::string& bucket, const std::string& key);
  /// Uploads part number (1-based) of an upload; returns the part's ETag.
  std::string upload_part(const std::string& bucket, const std::string& key,
                          const std::string& upload_id, int number, std::string_view body);
  /// Completes an upload from its parts' ETags in order: the object appears whole, at once.
  void complete_multipart(const std::string& bucket, const std::string& key,
                          const std::string& upload_id, const std::vector<std::string>& etags);
  /// Abandons an upload; its parts are dropped and no object appears. A store that has no abort
  /// call (HTTP 405 or 501) is not an error: the upload was never visible.
  void abort_multipart(const std::string& bucket, const std::string& key,
                       const std::string& upload_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::detail
