// AWS Signature Version 4, from OpenSSL's SHA-256 and HMAC.
#include "s3/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "spate/error.hpp"

namespace spate::detail {

namespace {

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len) ==
      nullptr) {
    throw error("HMAC-SHA256 failed in OpenSSL");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// A header value with leading and trailing blanks removed and inner runs of spaces made one.
std::string trimmed(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

/// The headers, lower-cased and sorted by name.
std::vector<std::pair<std::string, std::string>> sorted_headers(const SigV4Request& request) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& [name, value] : request.headers) h.emplace_back(lower(name), trimmed(value));
  std::sort(h.begin(), h.end());
  return h;
}

std::string signed_header_names(const std::vector<std::pair<std::string, std::string>>& h) {
  std::string out;
  for (const auto& [name, value] : h) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string scope(const SigV4Key& key, std::string_view amz_date) {
  return std::string(amz_date.substr(0, 8)) + "/" + key.region + "/" + key.service +
         "/aws4_request";
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex(digest, sizeof digest);
}

std::string uri_encode(std::string_view text, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [name, value] : query)
    q.emplace_back(uri_encode(name, true), uri_encode(value, true));
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [name, value] : q) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonical_request(const SigV4Request& request) {
  auto headers = sorted_headers(request);
  std::string out = request.method + "\n" + request.path + "\n" + canonical_query(request.query) +
                    "\n";
  for (const auto& [name, value] : headers) out += name + ":" + value + "\n";
  out += "\n" + signed_header_names(headers) + "\n" + request.payload_sha256;
  return out;
}

std::string string_to_sign(const SigV4Request& request, const SigV4Key& key,
                           std::string_view amz_date) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope(key, amz_date) + "\n" +
         sha256_hex(canonical_request(request));
}

std::string sigv4_signature(const SigV4Request& request, const SigV4Key& key,
                            std::string_view amz_date) {
  std::string k = hmac_sha256("AWS4" + key.secret_access_key, amz_date.substr(0, 8));
  k = hmac_sha256(k, key.region);
  k = hmac_sha256(k, key.service);
  k = hmac_sha256(k, "aws4_request");
  std::string sig = hmac_sha256(k, string_to_sign(request, key, amz_date));
  return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::string sigv4_authorization(const SigV4Request& request, const SigV4Key& key,
                                std::string_view amz_date) {
  return "AWS4-HMAC-SHA256 Credential=" + key.access_key_id + "/" + scope(key, amz_date) +
         ",SignedHeaders=" + signed_header_names(sorted_headers(request)) +
         ",Signature=" + sigv4_signature(request, key, amz_date);
}

SigV4Request s3_sigv4_request(const S3RequestParts& parts, std::string_view host_header,
                              std::string_view amz_date, std::string_view payload_sha256,
                              std::string_view session_token) {
  SigV4Request sig{parts.method, "/", parts.query, parts.headers, std::string(payload_sha256)};
  if (parts.path_style) {
    sig.path += uri_encode(parts.bucket, true);
    if (!parts.key.empty()) sig.path += "/" + uri_encode(parts.key, false);
  } else {
    sig.path += uri_encode(parts.key, false);
  }
  sig.headers.emplace_back("host", host_header);
  sig.headers.emplace_back("x-amz-date", amz_date);
  sig.headers.emplace_back("x-amz-content-sha256", payload_sha256);
  if (!session_token.empty()) sig.headers.emplace_back("x-amz-security-token", session_token);
  return sig;
}

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

}  // namespace spate::detail
