// AWS Signature Version 4 for S3 requests: canonical request, string to sign, Authorization.
// Internal to lib/; included as "s3/sigv4.hpp".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spate::detail {

/// The parts of an HTTP request that Signature V4 covers. Query parameters and headers are
/// given raw (not yet percent-encoded), in any order; header names in any case.
struct SigV4Request {
  std::string method;                                      ///< "GET", "PUT", ...
  std::string path;                                        ///< already URI-encoded, "/" kept
  std::vector<std::pair<std::string, std::string>> query;  ///< raw names and values
  std::vector<std::pair<std::string, std::string>> headers;  ///< every header to sign, host too
  std::string payload_sha256;                              ///< hex SHA-256 of the body
};

/// The key that signs: access key id, secret, and the scope's region and service.
struct SigV4Key {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string service = "s3";
};

/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);

/// Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (and '/' unless encode_slash), with
/// upper-case hex, as SigV4 requires of paths and query strings.
std::string uri_encode(std::string_view text, bool encode_slash);

/// The query string as SigV4 canonicalises it (and as it is then sent): name=value pairs,
/// both encoded, sorted by name then value, joined by '&'.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

/// The canonical request of SigV4's step 1.
std::string canonical_request(const SigV4Request& request);

/// The string to sign of step 2, for amz_date ("YYYYMMDDTHHMMSSZ").
std::string string_to_sign(const SigV4Request& request, const SigV4Key& key,
                           std::string_view amz_date);

/// The hex signature of steps 3 and 4.
std::string sigv4_signature(const SigV4Request& request, const SigV4Key& key,
                            std::string_view amz_date);

/// The value of the Authorization header for request signed at amz_date.
std::string sigv4_authorization(const SigV4Request& request, const SigV4Key& key,
                                std::string_view amz_date);

/// An S3 request as the client builds it, before signing.
struct S3RequestParts {
  std::string method;
  std::string bucket;
  std::string key;        ///< may be empty (a bucket's listing)
  bool path_style = true;  ///< /bucket/key; else /key, the bucket being in the host name
  std::vector<std::pair<std::string, std::string>> query;    ///< raw
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides the four below
};

/// What S3 signs of `parts`: the encoded path, the query, `parts.headers` and host (as sent:
/// "host" or "host:port"), x-amz-date, x-amz-content-sha256 and, with a session token,
/// x-amz-security-token.
SigV4Request s3_sigv4_request(const S3RequestParts& parts, std::string_view host_header,
                              std::string_view amz_date, std::string_view payload_sha256,
                              std::string_view session_token);

/// The current time as SigV4's x-amz-date ("YYYYMMDDTHHMMSSZ", UTC).
std::string amz_date_now();

}  // namespace spate::detail
