// Tests of the click-log reference oracle (against hand-computed answers), and of its agreement
// with parse_click, the generator's clean/dirty guarantee and the hand-written baseline.
#include <spate/clicklog.hpp>
#include <spate/clicklog_generator.hpp>

#include "clicklog_reference.hpp"
#include "test_paths.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using spate::test::reference_job;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("spate-clicklog-ref-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
};

// Two small files covering: a CRLF line, a header per file, a missing final newline, malformed
// lines (text, empty, a `\r` with no `\n` after it), a 30-minute gap exactly at and just past the
// limit, a campaign without impressions (NA), numeric versus text order, and byte order of names.
struct Fixture {
  TempDir dir;
  std::vector<std::string> clicks;
  std::string campaigns;
  Fixture() {
    clicks.push_back(dir.write(
        "a.tsv",
        "ts\tuser_id\tsession_id\tevent\tcampaign_id\tad_id\turl\tcountry\tdevice\tcost_micros\n"
        "1000\tu1\ts\timpression\t5\t500\t/p/x/1\tUS\tmobile\t100\n"
        "1500\tu1\ts\tclick\t5\t500\t/p/x/1\tUS\tmobile\t2000\r\n"
        "3601501\tu1\ts\timpression\t5\t501\t/p/x/2\tUS\tmobile\t300\n"
        "bad line\n"
        "3000\tu2\ts\timpression\t7\t700\t/p/x/2\tDE\tdesktop\t50\n"
        "3000\tu2\ts\tconversion\t7\t700\t/p/x/2\tDE\tdesktop\t0"));
    clicks.push_back(dir.write("b.tsv",
                               "header of the second file\n"
                               "1801500\tu1\ts\timpression\t9\t900\t/p/y\tDE\tmobile\t40\n"
                               "4000\tu4\ts\tclick\t3\t300\t/p/z\tFR\tctv\t5\n"
                               "4100\tu4\ts\timpression\t12\t1200\t/p/z\tFR\tctv\t7\n"
                               "\n"
                               "5000\tu3\ts\timpression\t5\t500\t/p/x/1\tUS\ttablet\t10\r"));
    campaigns = dir.write("campaigns.tsv",
                          "campaign_id\tadvertiser\tbudget_micros\n"
                          "5\tZeta\t1000\n"
                          "7\talpha\t0\n"
                          "9\tZeta\t3000\n"
                          "11\t\xC3\x89"
                          "cole\t500\n"
                          "x\tBroken\t1\n"
                          "3\tbad\t1\t2\n");
  }
};

}  // namespace

TEST_CASE("the reference counts exactly the malformed lines of the fixture",
          "[clicklog][reference]") {
  Fixture f;
  std::int64_t malformed = -1;
  CHECK(spate::test::reference_records(f.clicks, &malformed).size() == 8);
  CHECK(malformed == 3);
}

TEST_CASE("the reference ctr job counts events per campaign in numeric order",
          "[clicklog][reference]") {
  Fixture f;
  CHECK(reference_job("ctr", f.clicks, f.campaigns) ==
        "campaign_id\timpressions\tclicks\tconversions\tctr\n"
        "3\t0\t1\t0\tNA\n"
        "5\t2\t1\t0\t0.500000\n"
        "7\t1\t0\t1\t0.000000\n"
        "9\t1\t0\t0\t0.000000\n"
        "12\t1\t0\t0\t0.000000\n");
}

TEST_CASE("the reference uniques job counts a user in every country it was seen in",
          "[clicklog][reference]") {
  Fixture f;
  CHECK(reference_job("uniques", f.clicks, f.campaigns) ==
        "country\tusers\n"
        "DE\t2\n"
        "FR\t1\n"
        "US\t1\n");
}

TEST_CASE("the reference join job inner-joins impressions and sums all budgets per advertiser",
          "[clicklog][reference]") {
  Fixture f;
  CHECK(reference_job("join", f.clicks, f.campaigns) ==
        "advertiser\tspend_micros\tbudget_micros\tspend_ratio\n"
        "Zeta\t440\t4000\t0.110000\n"
        "alpha\t50\t0\tNA\n"
        "\xC3\x89"
        "cole\t0\t500\t0.000000\n");
}

TEST_CASE("the reference sessions job splits only on gaps of more than 30 minutes",
          "[clicklog][reference]") {
  Fixture f;
  // u1: 1000, 1500, 1801500 (gap exactly 1800000: same session), 3601501 (new session);
  // u2: two records at 3000; u4: 4000, 4100. Durations 1800500 + 0 + 0 + 100 over 4 sessions.
  CHECK(reference_job("sessions", f.clicks, f.campaigns) ==
        "users\tsessions\tmean_events\tmean_duration_s\n"
        "3\t4\t2.000000\t450.150000\n");
  TempDir empty;
  CHECK(reference_job("sessions", {empty.write("e.tsv", "header only\n")}, f.campaigns) ==
        "users\tsessions\tmean_events\tmean_duration_s\n"
        "0\t0\tNA\tNA\n");
}

TEST_CASE("the reference wordcount job orders by count, then url bytes", "[clicklog][reference]") {
  Fixture f;
  CHECK(reference_job("wordcount", f.clicks, f.campaigns) ==
        "url\tcount\n"
        "/p/x/2\t3\n"
        "/p/x/1\t2\n"
        "/p/z\t2\n"
        "/p/y\t1\n");
}

TEST_CASE(
    "parse_click and the reference agree on every line of a generated dirty file, and the "
    "jobs print the same on the clean and the dirty file",
    "[clicklog][reference]") {
  TempDir dir;
  spate::ClickGenOptions o;
  o.rows = 3000;
  o.seed = 21;
  o.users = 2000;
  o.out = (dir.path / "clean.tsv").string();
  spate::generate_clicks(o);
  o.bad_rate = 0.1;
  o.out = (dir.path / "dirty.tsv").string();
  const spate::ClickGenSummary dirty = spate::generate_clicks(o);
  REQUIRE(dirty.malformed_lines > 0);

  const auto lines = spate::test::reference_lines(spate::test::reference_read_file(dirty.out));
  std::int64_t valid = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    spate::ClickView v;
    const bool ours = spate::parse_click(lines[i], v).ok();
    INFO("line " << i + 1);
    REQUIRE(ours == spate::test::reference_is_valid(lines[i]));
    valid += ours;
  }
  CHECK(valid == 3000);
  std::int64_t malformed = 0;
  spate::test::reference_records({dirty.out}, &malformed);
  CHECK(malformed == dirty.malformed_lines);

  const std::string campaigns = (dir.path / "campaigns.tsv").string();
  for (const char* job : {"ctr", "uniques", "join", "sessions", "wordcount"}) {
    INFO(job);
    const std::string clean_out =
        reference_job(job, {(dir.path / "clean.tsv").string()}, campaigns);
    CHECK(clean_out == reference_job(job, {dirty.out}, campaigns));
    CHECK(clean_out.size() > 30);
  }
  // More than 100 urls occur: wordcount prints the top 100 only.
  const std::string top = reference_job("wordcount", {dirty.out}, campaigns);
  CHECK(std::count(top.begin(), top.end(), '\n') == 101);
}

TEST_CASE("the hand-written baseline prints the reference output for every job",
          "[clicklog][reference]") {
  const fs::path baseline = fs::path(spate_test::bin_dir()) / "spate-handwritten-clicks";
  REQUIRE(fs::exists(baseline));  // built with the tests by the README's test command
  TempDir dir;
  spate::ClickGenOptions o;
  o.rows = 4000;
  o.seed = 5;
  o.users = 3000;
  o.bad_rate = 0.05;
  o.out = (dir.path / "clicks.tsv").string();
  spate::generate_clicks(o);
  Fixture f;
  for (const char* job : {"ctr", "uniques", "join", "sessions", "wordcount"}) {
    INFO(job);
    for (const auto& [clicks, campaigns] : {std::pair{o.out, (dir.path / "campaigns.tsv").string()},
                                            std::pair{f.clicks[0], f.campaigns}}) {
      const std::string out = (dir.path / "out.tsv").string();
      const std::string err = (dir.path / "err.txt").string();
      const std::string cmd = baseline.string() + " " + job + " --input '" + clicks +
                              "' --campaigns '" + campaigns + "' --out '" + out + "' 2>'" + err +
                              "'";
      REQUIRE(std::system(cmd.c_str()) == 0);
      CHECK(spate::test::reference_read_file(out) == reference_job(job, {clicks}, campaigns));
      std::int64_t malformed = 0;
      spate::test::reference_records({clicks}, &malformed);
      CHECK(spate::test::reference_read_file(err) ==
            "skipped " + std::to_string(malformed) + " malformed lines\n");
    }
  }
}
