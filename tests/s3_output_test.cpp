// save_as_text_file and save_as_object_file to s3:// against a real s3rver: parts as multipart
// uploads completed by the driver, _SUCCESS last, an existing output refused, a failed job
// leaving nothing complete, object files read back from s3://.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <spate/spate.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"
#include "test_support.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;
using Catch::Matchers::Contains;
using namespace spate_test;
using namespace std::chrono_literals;

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

TEST_CASE("save_as_object_file to s3:// writes parts that object_file reads back, split by block, "
          "and a damaged or rewritten part fails the job naming it",
          "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"objs"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  using Row = std::pair<int, std::string>;
  std::vector<Row> data;
  // About 9 MB: parts of several 1 MiB blocks, so that a part is read as more than one split.
  for (int i = 0; i < 400'000; ++i) data.emplace_back(i, fmt::format("row {} of the object file", i));
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    std::string prefix = std::string_view(master).find("cluster") == std::string_view::npos ? "local/" : "cluster/";
    spate::Context ctx(spate::Options{.master = master});
    ctx.parallelize(data, 3).save_as_object_file("s3://objs/" + prefix);
    std::vector<std::string> expected{prefix + "_SUCCESS"};
    for (int p = 0; p < 3; ++p) expected.push_back(prefix + fmt::format("part-{:05}", p));
    CHECK(keys_under(client, "objs", prefix) == expected);
    auto back = ctx.object_file<Row>("s3://objs/" + prefix, 8);
    CHECK(back.num_partitions() >= 8);
    CHECK(back.collect() == data);
  }
  std::string part = get_object(client, "objs", "local/part-00001");
  std::string damaged = part;
  damaged[damaged.size() / 2] ^= 0x20;
  client.put("objs", "damaged/part-00000", damaged);
  spate::Context ctx(spate::Options{.master = "local[2]"});
  REQUIRE_THROWS_WITH(ctx.object_file<Row>("s3://objs/damaged/").collect(),
                      Contains("s3://objs/damaged/part-00000") && Contains("damaged at byte"));
  client.put("objs", "moving/part-00000", part);
  auto planned = ctx.object_file<Row>("s3://objs/moving/");  // listed with its ETag
  client.put("objs", "moving/part-00000", get_object(client, "objs", "local/part-00000"));
  REQUIRE_THROWS_WITH(planned.collect(), Contains("moving/part-00000") &&
                                             Contains("changed since the job was planned"));
}

// ---- a driver killed with SIGKILL mid-save ----

namespace {

constexpr int kKilledSaveParts = 4;

std::vector<std::string> killed_save_lines() {
  std::vector<std::string> lines;
  for (int i = 0; i < kKilledSaveParts * 100; ++i) lines.push_back(fmt::format("line {}", i));
  return lines;
}

}  // namespace

// Run by the test below in a process of its own: saves 4 partitions to SPATE_S3_SAVE_OUT; with
// SPATE_S3_SAVE_MARKER, partition 0 is quick and the others write the marker and wait 20 s (a
// run to be killed once part 0's upload is in).
TEST_CASE("s3 child: saves slow partitions to s3", "[.][s3_killed_save_child]") {
  const char* out = std::getenv("SPATE_S3_SAVE_OUT");
  const char* master = std::getenv("SPATE_S3_SAVE_MASTER");
  if (out == nullptr || master == nullptr) return;
  spate::Context ctx(spate::Options{.master = master, .ui = false});
  ctx.parallelize(killed_save_lines(), kKilledSaveParts)
      .map_partitions([](std::size_t p, std::vector<std::string> lines) {
        // Read where the task runs: executors inherit the driver's environment.
        const char* marker = std::getenv("SPATE_S3_SAVE_MARKER");
        if (marker != nullptr && p > 0) {
          std::ofstream(marker) << p << "\n";
          std::this_thread::sleep_for(std::chrono::seconds(20));
        }
        return lines;
      })
      .save_as_text_file(out);
}

TEST_CASE("a driver killed with SIGKILL mid-save leaves nothing under the s3:// prefix, and a rerun "
          "writes it whole",
          "[s3][s3_output]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"killed"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  TempDir tmp;
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    std::string prefix = std::string_view(master).find("cluster") == std::string_view::npos ? "local/" : "cluster/";
    std::string marker = tmp.file(prefix.substr(0, prefix.size() - 1) + ".marker");
    std::vector<std::string> args{self_exe(), "s3 child: saves slow partitions to s3"};
    std::map<std::string, std::string> child_env{{"SPATE_S3_SAVE_OUT", "s3://killed/" + prefix},
                                                 {"SPATE_S3_SAVE_MASTER", master}};
    {
      auto slow_env = child_env;
      slow_env["SPATE_S3_SAVE_MARKER"] = marker;
      Child child(args, slow_env, tmp.file("killed.err"));
      auto deadline = std::chrono::steady_clock::now() + 60s;
      while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
      REQUIRE(fs::exists(marker));
      std::this_thread::sleep_for(1s);  // part 0's task (50 ms of work) has uploaded its part
      REQUIRE(::kill(child.pid, SIGKILL) == 0);
      CHECK(child.wait_exit(10s) == 128 + SIGKILL);
    }
    // Uploads only become objects when the driver completes them, which it never did.
    CHECK(keys_under(client, "killed", prefix).empty());

    Child rerun(args, child_env, tmp.file("rerun.err"));
    int code = rerun.wait_exit(60s);
    INFO(rerun.stderr_text());
    REQUIRE(code == 0);
    std::vector<std::string> expected{prefix + "_SUCCESS"};
    for (int p = 0; p < kKilledSaveParts; ++p) expected.push_back(prefix + fmt::format("part-{:05}", p));
    CHECK(keys_under(client, "killed", prefix) == expected);
    std::string all;
    for (int p = 0; p < kKilledSaveParts; ++p) all += get_object(client, "killed", prefix + fmt::format("part-{:05}", p));
    std::string want;
    for (const auto& line : killed_save_lines()) want += line + "\n";
    CHECK(all == want);
  }
}
