// The S3 client against a real s3rver on loopback, and against the fault proxy in front of it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>

#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"
#include "spate/error.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::S3FaultProxy;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;
using Catch::Matchers::Contains;

namespace {

/// A client for the endpoint the environment names, retrying quickly.
S3Client quick_client() {
  S3Config c = S3Config::from_environment();
  c.first_backoff = std::chrono::milliseconds(5);
  return S3Client(c);
}

std::string bytes_of(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed + i / 13) % 26);
  return s;
}

/// Reads the started GET to its end, max bytes per call.
std::string read_all(S3Client& client, std::size_t max) {
  std::string out, buf(max, '\0');
  for (std::size_t n; (n = client.read_body(buf.data(), max)) > 0;) out.append(buf.data(), n);
  return out;
}

}  // namespace

TEST_CASE("S3Client lists a bucket page by page, more objects than a page", "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"pages"});
  S3TestEnv env(server.endpoint());
  S3Client client = quick_client();
  for (int i = 0; i < 25; ++i) client.put("pages", fmt::format("dir/obj-{:02}", i), std::to_string(i));
  client.put("pages", "dir/sub/deeper", "x");
  auto first = client.list_page("pages", "dir/", "/", "", 7);
  CHECK(first.objects.size() == 7);
  CHECK(!first.next_token.empty());
  auto all = client.list_all("pages", "dir/", "/", 7);
  REQUIRE(all.size() == 25);
  CHECK(all.front().key == "dir/obj-00");
  CHECK(all.back().key == "dir/obj-24");
  CHECK(all[3].size == 1);
  CHECK(!all[3].etag.empty());
  CHECK(client.list_all("pages", "dir/", "", 4).size() == 26);  // recursive
}

TEST_CASE("S3Client reads exactly a byte range, into the caller's buffer", "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"ranges"});
  S3TestEnv env(server.endpoint());
  S3Client client = quick_client();
  std::string data = bytes_of(300'000, 1);
  client.put("ranges", "blob", data);
  auto head = client.head("ranges", "blob");
  REQUIRE(head);
  CHECK(head->size == data.size());
  client.start_get("ranges", "blob", 1000, 250'000, head->etag);
  CHECK(read_all(client, 4096) == data.substr(1000, 249'000));
  client.start_get("ranges", "blob", 0, data.size(), "");
  CHECK(read_all(client, 1 << 20) == data);
  CHECK(!client.head("ranges", "no-such-key"));
}

TEST_CASE("S3Client fails a GET of an object whose ETag changed, naming it", "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"changes"});
  S3TestEnv env(server.endpoint());
  S3Client client = quick_client();
  client.put("changes", "log.txt", "version one\n");
  std::string etag = client.head("changes", "log.txt")->etag;
  client.put("changes", "log.txt", "version two, longer\n");
  REQUIRE_THROWS_WITH(client.start_get("changes", "log.txt", 0, 5, etag),
                      Contains("s3://changes/log.txt") && Contains("changed since the job was planned") &&
                          Contains(etag));
}

TEST_CASE("S3Client multipart uploads appear whole on completion, never when aborted",
          "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"uploads"});
  S3TestEnv env(server.endpoint());
  S3Client client = quick_client();
  std::string a = bytes_of(5 << 20, 2), b = bytes_of(1000, 3);
  std::string id = client.create_multipart("uploads", "out/part-00000");
  std::vector<std::string> etags{client.upload_part("uploads", "out/part-00000", id, 1, a),
                                 client.upload_part("uploads", "out/part-00000", id, 2, b)};
  CHECK(!client.head("uploads", "out/part-00000"));
  client.complete_multipart("uploads", "out/part-00000", id, etags);
  client.start_get("uploads", "out/part-00000", 0, a.size() + b.size(), "");
  CHECK(read_all(client, 1 << 16) == a + b);

  std::string dropped = client.create_multipart("uploads", "out/part-00001");
  client.upload_part("uploads", "out/part-00001", dropped, 1, b);
  client.abort_multipart("uploads", "out/part-00001", dropped);
  CHECK(!client.head("uploads", "out/part-00001"));
}

TEST_CASE("S3Client errors name the bucket, key, HTTP status and S3's error code",
          "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"present"});
  {
    S3TestEnv env(server.endpoint());
    S3Client client = quick_client();
    REQUIRE_THROWS_WITH(client.list_page("absent-bucket", "x/", "/", ""),
                        Contains("absent-bucket") && Contains("404") && Contains("NoSuchBucket"));
    REQUIRE_THROWS_WITH(client.start_get("present", "missing/key.txt", 0, 10, ""),
                        Contains("s3://present/missing/key.txt") && Contains("404") &&
                            Contains("NoSuchKey"));
  }
  // s3rver checks the key id but not V4 signatures (sigv4_test checks ours against AWS's).
  S3TestEnv wrong(server.endpoint(), "AKIDNOTAKEY");
  S3Client client = quick_client();
  REQUIRE_THROWS_WITH(client.list_page("present", "x/", "/", ""),
                      Contains("s3://present/") && Contains("403") && Contains("InvalidAccessKeyId") &&
                          Contains("AWS_ACCESS_KEY_ID"));
}

TEST_CASE("S3Client retries a server that answers 500 until it recovers, and names it when it "
          "does not",
          "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"flaky"});
  {
    S3TestEnv env(server.endpoint());
    quick_client().put("flaky", "k", "hello\n");
  }
  {
    S3FaultProxy proxy(server, "fail-first:3");
    S3TestEnv env(proxy.endpoint());
    S3Client client = quick_client();
    auto head = client.head("flaky", "k");  // three 500s, then the answer
    REQUIRE(head);
    CHECK(head->size == 6);
  }
  S3FaultProxy proxy(server, "fail-first:1000");
  S3TestEnv env(proxy.endpoint());
  S3Client client = quick_client();
  REQUIRE_THROWS_WITH(client.start_get("flaky", "k", 0, 6, ""),
                      Contains("s3://flaky/k") && Contains("HTTP 500 InternalError"));
}

TEST_CASE("S3Client resumes a GET whose connection is cut mid-body, and names it when it keeps "
          "breaking",
          "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"cuts"});
  std::string data = bytes_of(200'000, 4);
  {
    S3TestEnv env(server.endpoint());
    quick_client().put("cuts", "big", data);
  }
  {
    S3FaultProxy proxy(server, "cut-body:5000:2");
    S3TestEnv env(proxy.endpoint());
    S3Client client = quick_client();
    client.start_get("cuts", "big", 10, data.size(), "");
    CHECK(read_all(client, 8192) == data.substr(10));
  }
  S3FaultProxy proxy(server, "cut-body:0:1000");  // no byte of the body, ever
  S3TestEnv env(proxy.endpoint());
  S3Client client = quick_client();
  client.start_get("cuts", "big", 0, data.size(), "");
  REQUIRE_THROWS_WITH(read_all(client, 8192), Contains("s3://cuts/big") && Contains("broke"));
}

TEST_CASE("S3Client says when the endpoint is not S3", "[s3][s3_client]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"any"});
  S3FaultProxy proxy(server, "not-s3");
  S3TestEnv env(proxy.endpoint());
  S3Client client = quick_client();
  REQUIRE_THROWS_WITH(client.list_page("any", "in/", "/", ""),
                      Contains("s3://any/in/") && Contains("HTTP 200") &&
                          Contains("not S3's ListBucketResult XML") && Contains(proxy.endpoint()));
  REQUIRE_THROWS_WITH(client.head("any", "in/x.txt"),
                      Contains("s3://any/in/x.txt") && Contains("is " + proxy.endpoint()));
}
