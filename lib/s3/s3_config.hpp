// Where S3 is and who we are to it: credentials, region and endpoint, from the environment
// the way the AWS CLI reads them. Internal to lib/; included as "s3/s3_config.hpp".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace spate::detail {

/// An s3://bucket/key address split into its parts; key may be empty or end in '/'.
struct S3Location {
  std::string bucket;
  std::string key;

  /// "s3://bucket/key", for messages.
  std::string uri() const { return "s3://" + bucket + "/" + key; }
};

/// True if path starts with "s3://".
bool is_s3_uri(std::string_view path) noexcept;

/// Splits "s3://bucket/key"; throws config_error naming uri when it has no bucket.
S3Location parse_s3_uri(std::string_view uri);

/// Everything an S3 client needs to know to reach and sign for a store.
struct S3Config {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< empty unless temporary credentials
  std::string region = "us-east-1";
  /// "http" or "https"; host and port of the endpoint. For AWS itself the host is
  /// s3.REGION.amazonaws.com and buckets are addressed virtual-host style.
  std::string scheme = "https";
  std::string host;
  std::string port = "443";
  /// Path-style addressing (http://host/bucket/key), which compatible stores need; on for a
  /// custom endpoint, off for AWS.
  bool path_style = false;
  /// A PEM file of the certificate authorities trusted for https, instead of the system's.
  std::string ca_bundle;
  /// Attempts of one request before its error is final (5xx, throttling, broken connections).
  int max_attempts = 6;
  /// The first retry waits this long; each later one twice as long (plus jitter).
  std::chrono::milliseconds first_backoff{100};
  /// A connect, send or read that makes no progress for this long fails the attempt.
  std::chrono::milliseconds io_timeout{60'000};

  /// "scheme://host:port", for messages.
  std::string endpoint() const { return scheme + "://" + host + ":" + port; }

  /// The configuration the environment describes: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
  /// AWS_SESSION_TOKEN, or else the profile AWS_PROFILE (default "default") of the file
  /// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials); region from AWS_REGION or
  /// AWS_DEFAULT_REGION (default us-east-1); a custom endpoint, addressed path style, from
  /// AWS_ENDPOINT_URL (http://host:port or https://...); the CAs trusted for https from
  /// AWS_CA_BUNDLE (default: the system's, or OpenSSL's SSL_CERT_FILE). Throws config_error saying what to
  /// set when there are no credentials or the endpoint URL is malformed.
  static S3Config from_environment();
};

}  // namespace spate::detail
