// --shuffle-compression end to end: every codec gives the same answer across executor processes,
// LZ4 and zstd send fewer shuffle bytes over TCP than none, and a codec nobody knows is refused.
#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "process_support.hpp"
#include "spate/clicklog_generator.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

namespace {

// The value of one counter on the "spate metrics:" line of a run's stderr; -1 when absent.
std::int64_t metric(const std::string& err, const std::string& name) {
  auto line = err.find("spate metrics:");
  if (line == std::string::npos) return -1;
  std::istringstream words(err.substr(line, err.find('\n', line) - line));
  std::string w;
  while (words >> w)
    if (w.starts_with(name + "=")) return std::stoll(w.substr(name.size() + 1));
  return -1;
}

}  // namespace

TEST_CASE("every shuffle codec gives J4 the same answer in local-cluster[2], and lz4 and zstd send fewer bytes",
          "[cluster]") {
  spate_test::TempDir dir;
  spate::ClickGenOptions gen;
  gen.rows = 100'000;
  gen.seed = 11;
  gen.out = dir.file("clicks.tsv");
  spate::generate_clicks(gen);
  std::map<std::string, std::int64_t> remote;
  std::map<std::string, std::string> answer;
  for (std::string codec : {"none", "lz4", "zstd"}) {
    INFO(codec);
    auto r = spate_test::run_captured(fmt::format(
        "env -u SPATE_MASTER '{}/spate-clicks' sessions --input '{}' --master 'local-cluster[2]' "
        "--shuffle-compression {} --metrics --no-ui --no-progress",
        spate_test::bin_dir(), gen.out, codec));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    answer[codec] = r.out;
    remote[codec] = metric(r.err, "shuffle.remote_bytes");
    CHECK(metric(r.err, "shuffle.write.raw_bytes") > 0);
  }
  auto local = spate_test::run_captured(fmt::format("env -u SPATE_MASTER '{}/spate-clicks' sessions --input '{}' "
                                                    "--master 'local[2]' --no-ui --no-progress",
                                                    spate_test::bin_dir(), gen.out));
  REQUIRE(local.exit_code == 0);
  CHECK(answer["none"] == local.out);
  CHECK(answer["lz4"] == local.out);
  CHECK(answer["zstd"] == local.out);
  REQUIRE(remote["none"] > 0);
  CHECK(remote["lz4"] < remote["none"]);
  CHECK(remote["zstd"] < remote["none"]);
}

TEST_CASE("an unknown --shuffle-compression is refused, naming the codecs there are", "[cli]") {
  auto r = spate_test::run_captured(fmt::format(
      "env -u SPATE_MASTER '{}/spate-clicks' sessions --input /nonexistent --shuffle-compression snappy --no-ui",
      spate_test::bin_dir()));
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("--shuffle-compression snappy: must be lz4, zstd or none"));
}
