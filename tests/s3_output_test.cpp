// save_as_text_file to s3:// against a real s3rver: parts as multipart uploads completed by the
// driver, _SUCCESS last, an existing output refused, a failed job leaving nothing complete.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <spate/spate.hpp>

#include <string>
#include <vector>

#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;
using Catch::Matchers::Contains;
using spate_test::get_object;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;

namespace {

std::vector<std::string> keys_under(S3Client& client, const std::string& bucket,
                                    const std::string& prefix) {
  std::vector<std::string> keys;
  for (const auto& o : client.list_all(bucket, prefix, "")) keys.push_back(o.key);
  return keys;
}

}  // namespace

TEST_CASE("save_as_text_file to s3:// writes every part once and _SUCCESS", "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"out"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  std::vector<int> data;
  for (int i = 0; i < 200'000; ++i) data.push_back(i);  // about 1.3 MB: a part or two per task
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    std::string prefix = std::string("run-") + (std::string_view(master).find("cluster") == std::string_view::npos ? "local" : "cluster") + "/";
    spate::Context ctx(spate::Options{.master = master});
    ctx.parallelize(data, 5).save_as_text_file("s3://out/" + prefix);
    auto keys = keys_under(client, "out", prefix);
    std::vector<std::string> expected{prefix + "_SUCCESS"};
    for (int p = 0; p < 5; ++p) expected.push_back(prefix + fmt::format("part-{:05}", p));
    CHECK(keys == expected);
    std::string all;
    for (int p = 0; p < 5; ++p) all += get_object(client, "out", prefix + fmt::format("part-{:05}", p));
    std::string want;
    for (int i : data) want += std::to_string(i) + "\n";
    CHECK(all == want);
    CHECK(get_object(client, "out", prefix + "_SUCCESS").empty());
  }
}

TEST_CASE("save_as_text_file to s3:// refuses a prefix holding _SUCCESS before writing anything",
          "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"done"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  client.put("done", "result/part-00000", "precious\n");
  client.put("done", "result/_SUCCESS", "");
  spate::Context ctx(spate::Options{.master = "local[2]"});
  REQUIRE_THROWS_WITH(ctx.parallelize(std::vector<int>{1, 2, 3}, 2).save_as_text_file("s3://done/result/"),
                      Contains("s3://done/result/") && Contains("_SUCCESS"));
  CHECK(get_object(client, "done", "result/part-00000") == "precious\n");
  CHECK(keys_under(client, "done", "result/").size() == 2);
}

TEST_CASE("save_as_text_file to s3:// leaves nothing that looks complete after a failed job",
          "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"failed"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    spate::Context ctx(spate::Options{.master = master, .task_attempts = 1});
    std::vector<int> data(1000);
    for (int i = 0; i < 1000; ++i) data[i] = i;
    auto failing = ctx.parallelize(data, 4).map([](int x) {
      if (x == 900) throw std::runtime_error("record 900 is bad");
      return x;
    });
    REQUIRE_THROWS_WITH(failing.save_as_text_file("s3://failed/out/"), Contains("record 900 is bad"));
    CHECK(keys_under(client, "failed", "out/").empty());
    // And the prefix is usable again.
    ctx.parallelize(data, 2).save_as_text_file("s3://failed/out/");
    CHECK(keys_under(client, "failed", "out/").size() == 3);
    for (const auto& k : keys_under(client, "failed", "out/")) client.remove("failed", k);
  }
}

TEST_CASE("save_as_text_file to s3:// with gzip or zstd writes compressed parts that text_file reads back",
          "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"packed"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  std::vector<std::string> data;
  for (int i = 0; i < 50'000; ++i) data.push_back(fmt::format("line {}\twith a tab", i));
  std::vector<std::string> escaped;
  for (const auto& line : data) escaped.push_back(spate::escape_text_field(line));
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    for (auto [compression, suffix] : {std::pair{spate::Compression::gzip, ".gz"},
                                       std::pair{spate::Compression::zstd, ".zst"}}) {
      INFO("master " << master << ", parts " << suffix);
      std::string prefix = fmt::format("{}{}/", std::string_view(master).find("cluster") == std::string_view::npos ? "local" : "cluster", suffix);
      spate::Context ctx(spate::Options{.master = master});
      ctx.parallelize(data, 3).save_as_text_file("s3://packed/" + prefix, spate::TextOutputOptions{.compression = compression});
      std::vector<std::string> expected{prefix + "_SUCCESS"};
      for (int p = 0; p < 3; ++p) expected.push_back(prefix + fmt::format("part-{:05}{}", p, suffix));
      CHECK(keys_under(client, "packed", prefix) == expected);
      CHECK(ctx.text_file("s3://packed/" + prefix + "part-*").collect() == escaped);
    }
  }
}
