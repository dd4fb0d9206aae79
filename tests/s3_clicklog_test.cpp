// The click-log jobs reading their log from a real s3rver and writing their result to it, in
// local[2] and local-cluster[2], with exactly the reference results.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <spate/clicklog_generator.hpp>
#include <spate/clicklog_reader.hpp>
#include <spate/spate.hpp>

#include <array>
#include <string>

#include "clicklog_reference.hpp"
#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::get_object;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;

TEST_CASE("spate-clicks reads its log from S3 and prints exactly the reference result of every "
          "job",
          "[s3][clicklog]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"clicks"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  spate_test::fs::path dir = spate_test::fs::temp_directory_path() /
                             ("spate-s3-clicks-" + std::to_string(::getpid()));
  spate_test::fs::create_directories(dir);
  std::string log = (dir / "clicks.tsv").string(), campaigns = (dir / "campaigns.tsv").string();
  auto summary = spate::generate_clicks(
      {.rows = 30000, .seed = 17, .users = 4000, .bad_rate = 0.02, .out = log});
  client.put("clicks", "day/clicks.tsv", spate::test::reference_read_file(log));
  client.put("clicks", "day/campaigns.tsv", spate::test::reference_read_file(campaigns));

  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    for (const char* job : {"ctr", "uniques", "join", "sessions", "wordcount"}) {
      INFO("job " << job << " master " << master);
      auto r = spate_test::run_captured(spate_test::bin_dir() + "/spate-clicks " + job +
                                        " --input s3://clicks/day/clicks.tsv --master '" + master +
                                        "'");
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(r.out == spate::test::reference_job(job, {log}, campaigns));
      CHECK(r.err.find("skipped " + std::to_string(summary.malformed_lines) + " malformed lines") !=
            std::string::npos);
    }
  }
  spate_test::fs::remove_all(dir);
}

TEST_CASE("The ctr job reads from S3 and writes its table to S3 with exactly the reference rows",
          "[s3][clicklog]") {
  SPATE_REQUIRE_S3RVER();
  S3TestServer server({"clicks"});
  S3TestEnv env(server.endpoint());
  S3Client client(S3Config::from_environment());
  spate_test::fs::path dir = spate_test::fs::temp_directory_path() /
                             ("spate-s3-ctr-" + std::to_string(::getpid()));
  spate_test::fs::create_directories(dir);
  std::string log = (dir / "clicks.tsv").string();
  spate::generate_clicks({.rows = 20000, .seed = 3, .users = 3000, .bad_rate = 0.01, .out = log});
  client.put("clicks", "in/clicks.tsv", spate::test::reference_read_file(log));
  std::string reference = spate::test::reference_job("ctr", {log}, (dir / "campaigns.tsv").string());
  std::string reference_rows = reference.substr(reference.find('\n') + 1);

  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    std::string prefix = std::string("ctr-") + (std::string_view(master).find("cluster") == std::string_view::npos ? "local" : "cluster") + "/";
    spate::Context ctx(spate::Options{.master = master});
    using Counts = std::array<std::int64_t, 3>;
    spate::read_click_log(ctx, "s3://clicks/in/clicks.tsv", {.min_partitions = 6})
        .records()
        .map([](const spate::ClickView& c) {
          Counts n{};
          n[static_cast<std::size_t>(c.event)] = 1;
          return std::pair{c.campaign_id, n};
        })
        .reduce_by_key([](Counts a, const Counts& b) {
          for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
          return a;
        })
        .sort_by_key(true, 3)
        .save_as_text_file("s3://clicks/" + prefix, [](const std::pair<std::int64_t, Counts>& r) {
          const auto& [id, n] = r;
          return fmt::format("{}\t{}\t{}\t{}\t{}", id, n[0], n[1], n[2], spate::format_ratio(n[1], n[0]));
        });
    REQUIRE(client.head("clicks", prefix + "_SUCCESS"));
    std::string rows;
    for (int p = 0; p < 3; ++p) rows += get_object(client, "clicks", prefix + fmt::format("part-{:05}", p));
    CHECK(rows == reference_rows);
  }
  spate_test::fs::remove_all(dir);
}
