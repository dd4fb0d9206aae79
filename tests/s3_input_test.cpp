// text_file over s3:// against a real s3rver: listing, globs, byte-range splits read with ranged
// GETs, compressed objects, and the errors of missing, changed and unreadable input.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include <spate/spate.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/s3_listing.hpp"
#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;
using Catch::Matchers::Contains;

namespace {

/// Lines of varied length, some long enough to cross a split, numbered so each is unique.
std::string numbered_lines(int n, const std::string& tag) {
  std::string out;
  for (int i = 0; i < n; ++i) out += tag + std::to_string(i) + std::string(static_cast<std::size_t>(i % 97), 'x') + "\n";
  return out;
}

std::string gzip(const std::string& data) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> collect_sorted(const spate::Dataset<std::string_view>& ds) {
  auto v = ds.map([](std::string_view s) { return std::string(s); }).collect();
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("text_file reads an s3:// prefix in byte-range splits with exactly the lines of its "
          "objects",
          "[s3][s3_input]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"input"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  std::string plain = numbered_lines(6000, "p"), gz = numbered_lines(500, "g"),
              zs = numbered_lines(700, "z");
  client.put("input", "logs/a.log", plain);
  client.put("input", "logs/b.log.gz", gzip(gz));
  client.put("input", "logs/c.txt.zst", zstd(zs));
  client.put("input", "logs/_SUCCESS", "");
  client.put("input", "logs/deeper/ignored.log", "not listed\n");

  auto files = spate::detail::list_s3_objects("s3://input/logs/");
  REQUIRE(files.size() == 3);
  CHECK(files[0].path == "s3://input/logs/a.log");
  CHECK(files[1].compression == spate::detail::Compression::gzip);
  CHECK(files[2].compression == spate::detail::Compression::zstd);
  auto splits = spate::detail::plan_splits(files, 20'000);
  CHECK(splits.size() > 10);  // the plain object in many ranges, each compressed one whole

  auto expected = sorted_lines(plain + gz + zs);
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    spate::Context ctx(spate::Options{.master = master});
    auto ds = ctx.text_file("s3://input/logs/", 16);
    CHECK(ds.num_partitions() >= 16);
    CHECK(collect_sorted(ds) == expected);
    CHECK(collect_sorted(ctx.text_file("s3://input/logs/*.log")) == sorted_lines(plain));
    CHECK(collect_sorted(ctx.text_file("s3://input/logs/b.log.gz")) == sorted_lines(gz));
  }
}

TEST_CASE("text_file over S3 lists more objects than one page holds", "[s3][s3_input]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"many"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  for (int i = 0; i < 23; ++i) client.put("many", fmt::format("in/f{:03}.txt", i), fmt::format("line {}\n", i));
  auto files = spate::detail::list_s3_objects(client, "s3://many/in/", 5);
  REQUIRE(files.size() == 23);
  CHECK(files.back().path == "s3://many/in/f022.txt");
  CHECK(spate::detail::list_s3_objects(client, "s3://many/in/f01?.txt", 4).size() == 10);
}

TEST_CASE("text_file over S3 fails a job whose object changed after planning, naming it",
          "[s3][s3_input]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"moving"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  client.put("moving", "in/log.txt", numbered_lines(100, "a"));
  spate::Context ctx(spate::Options{.master = "local[2]", .task_attempts = 1});
  auto ds = ctx.text_file("s3://moving/in/log.txt", 2);  // planned: listed with its ETag
  client.put("moving", "in/log.txt", numbered_lines(120, "b"));
  REQUIRE_THROWS_WITH(ds.count(), Contains("s3://moving/in/log.txt") &&
                                      Contains("changed since the job was planned"));
}

TEST_CASE("text_file over S3 names the bucket and key of missing input", "[s3][s3_input]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"sparse"});
  S3TestEnv env(server.endpoint());
  spate::Context ctx(spate::Options{.master = "local[2]"});
  REQUIRE_THROWS_WITH(ctx.text_file("s3://sparse/nothing/here.txt"),
                      Contains("s3://sparse/nothing/here.txt") && Contains("sparse"));
  REQUIRE_THROWS_WITH(ctx.text_file("s3://no-such-bucket/x/"),
                      Contains("no-such-bucket") && Contains("404") && Contains("NoSuchBucket"));
  REQUIRE_THROWS_WITH(ctx.text_file("s3://sparse/*.log"), Contains("matches no object"));
}
