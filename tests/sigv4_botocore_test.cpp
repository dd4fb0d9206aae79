// spate's Signature V4 against botocore's (the AWS SDK for Python, from Debian's
// python3-botocore): the test server, s3rver, does not check V4 signatures, so each of many
// random S3 requests (keys with every kind of character, S3's query parameters, the headers the
// client sends) is signed by both, from the same raw parts, and the signatures must be equal.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <boost/json.hpp>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "process_support.hpp"
#include "s3/sigv4.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

using spate::detail::S3RequestParts;
using spate::detail::SigV4Key;
using namespace spate_test;

namespace {

bool botocore_available() { return run_captured("python3 -c 'import botocore'").exit_code == 0; }

/// Characters a key may hold: unreserved ones, the reserved ones S3 keys often carry, a space,
/// and multi-byte UTF-8.
const std::vector<std::string> kKeyPieces{
    "a", "Z", "0", "9", "-", "_", ".", "~", "/", " ", "+", "=", "&", "%", "*", "'", "(", ")",
    "!", "$", ",", ";", ":", "@", "?", "#", "[", "]", "\"", "<", ">", "{", "}", "|", "\\", "^",
    "`", "é", "日本", "\xf0\x9f\x98\x80", "logs", "2026-12-04", "part-00000.gz"};

std::string random_text(std::mt19937& rng, const std::vector<std::string>& pieces, int max_pieces) {
  std::uniform_int_distribution<int> count(1, max_pieces), pick(0, static_cast<int>(pieces.size()) - 1);
  std::string out;
  for (int i = count(rng); i > 0; --i) out += pieces[pick(rng)];
  return out;
}

/// One of the requests the client makes (or could), with random names and values.
S3RequestParts random_request(std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 6);
  std::string bucket = std::vector<std::string>{"logs", "my.bucket-1", "b0"}[rng() % 3];
  std::string key = random_text(rng, kKeyPieces, 12);
  const std::vector<std::string> token_pieces{"A", "z", "7", "+", "/", "="};
  switch (kind(rng)) {
    case 0:
      return {"GET", bucket, "", true,
              {{"list-type", "2"}, {"prefix", random_text(rng, kKeyPieces, 6)}, {"delimiter", "/"},
               {"continuation-token", random_text(rng, token_pieces, 30)}},
              {}};
    case 1:
      return {"GET", bucket, key, true, {}, {{"range", "bytes=0-1048575"}, {"if-match", "\"5d41402abc4b2a76b9719d911017c592\""}}};
    case 2:
      return {"HEAD", bucket, key, true, {}, {}};
    case 3:
      return {"POST", bucket, key, true, {{"uploads", ""}}, {}};
    case 4:
      return {"PUT", bucket, key, true,
              {{"partNumber", std::to_string(rng() % 10000 + 1)}, {"uploadId", random_text(rng, token_pieces, 40)}},
              {}};
    case 5:
      return {"POST", bucket, key, true, {{"uploadId", random_text(rng, token_pieces, 40)}},
              {{"content-type", "application/xml"}}};
    default:
      return {"DELETE", bucket, key, true, {}, {}};
  }
}

std::string hex_of(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

boost::json::array pairs_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  boost::json::array out;
  for (const auto& [name, value] : pairs) out.push_back(boost::json::array{boost::json::string(name), boost::json::string(value)});
  return out;
}

}  // namespace

TEST_CASE("spate's Signature V4 equals botocore's for random S3 requests", "[s3][sigv4]") {
  if (!botocore_available()) {
    WARN("skipped: python3-botocore is not installed; run scripts/setup --test");
    return;
  }
  std::mt19937 rng(20261204);
  const std::string host = "127.0.0.1:9000", date = "20261204T013045Z";
  TempDir tmp;
  std::ostringstream requests;
  std::vector<std::string> ours;
  std::vector<std::string> described;
  for (int i = 0; i < 300; ++i) {
    S3RequestParts parts = random_request(rng);
    std::string body = parts.method == "PUT" || parts.method == "POST" ? random_text(rng, kKeyPieces, 50) : "";
    std::string token = i % 3 == 0 ? "FwoGZXIvYXdzEJr//////////wEaDH+session/token=" : "";
    SigV4Key key{i % 2 ? "AKIDEXAMPLE" : "S3RVER", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", i % 4 ? "us-east-1" : "eu-central-1", "s3"};
    std::string body_sha = spate::detail::sha256_hex(body);
    auto sig = spate::detail::s3_sigv4_request(parts, host, date, body_sha, token);
    ours.push_back(spate::detail::sigv4_signature(sig, key, date));
    described.push_back(fmt::format("{} {} ? {}", parts.method, sig.path, spate::detail::canonical_query(parts.query)));
    boost::json::object r;
    r["method"] = parts.method;
    r["bucket"] = parts.bucket;
    r["key"] = parts.key;
    r["query"] = pairs_json(parts.query);
    r["headers"] = pairs_json(parts.headers);
    r["body_hex"] = hex_of(body);
    r["host"] = host;
    r["date"] = date;
    r["access_key"] = key.access_key_id;
    r["secret_key"] = key.secret_access_key;
    r["token"] = token;
    r["region"] = key.region;
    requests << boost::json::serialize(r) << "\n";
  }
  write_file(tmp.file("requests.jsonl"), requests.str());
  auto run = run_captured(fmt::format("python3 '{}/tests/s3/botocore_sign.py' '{}'", source_dir(),
                                      tmp.file("requests.jsonl")));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  std::istringstream lines(run.out);
  std::vector<std::string> theirs;
  for (std::string line; std::getline(lines, line);) theirs.push_back(line);
  REQUIRE(theirs.size() == ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    INFO("request " << i << ": " << described[i]);
    CHECK(ours[i] == theirs[i]);
  }
}
