// Tests of the click-log generator: determinism, malformed lines that leave the valid rows
// untouched, the skew and event mix CLICKLOG.md promises, and the campaigns table.
#include <spate/clicklog.hpp>
#include <spate/clicklog_generator.hpp>
#include <spate/error.hpp>

#include "clicklog_reference.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHeader =
    "ts\tuser_id\tsession_id\tevent\tcampaign_id\tad_id\turl\tcountry\tdevice\tcost_micros";

std::string generate(std::int64_t rows, std::uint64_t seed, double bad_rate = 0,
                     std::int64_t users = 1'000'000, spate::ClickGenSummary* summary = nullptr) {
  spate::ClickGenOptions o;
  o.rows = rows;
  o.seed = seed;
  o.bad_rate = bad_rate;
  o.users = users;
  std::string text;
  const auto s = spate::generate_clicks_to(o, [&text](std::string_view chunk) { text += chunk; });
  if (summary != nullptr) *summary = s;
  return text;
}

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("spate-clicklog-gen-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::string> data_lines(const std::string& text) {
  auto lines = spate::test::reference_lines(text);
  lines.erase(lines.begin());
  return lines;
}

}  // namespace

TEST_CASE("the generator gives the same bytes for the same seed", "[clicklog][generator]") {
  const std::string a = generate(3000, 7);
  CHECK(a == generate(3000, 7));
  CHECK(a != generate(3000, 8));
  CHECK(generate(3000, 7, 0.05) == generate(3000, 7, 0.05));
  CHECK(spate::generate_campaigns(7) == spate::generate_campaigns(7));
  CHECK(spate::generate_campaigns(7) != spate::generate_campaigns(8));
}

TEST_CASE("the generator writes a header and the requested number of rows, about 100 bytes each",
          "[clicklog][generator]") {
  spate::ClickGenSummary s;
  const std::string text = generate(5000, 1, 0, 1'000'000, &s);
  CHECK(text.substr(0, kHeader.size() + 1) == std::string(kHeader) + "\n");
  CHECK(text.back() == '\n');
  const auto lines = data_lines(text);
  CHECK(lines.size() == 5000);
  CHECK(s.rows == 5000);
  CHECK(s.malformed_lines == 0);
  CHECK(s.bytes == text.size());
  CHECK(text.size() / 5000 >= 80);
  CHECK(text.size() / 5000 <= 120);
  for (const auto& line : lines) REQUIRE(spate::test::reference_is_valid(line));
  CHECK(generate(0, 1) == std::string(kHeader) + "\n");
}

TEST_CASE("malformed lines are inserted between the clean file's rows, which stay identical",
          "[clicklog][generator]") {
  spate::ClickGenSummary s;
  const std::string clean = generate(4000, 11);
  const std::string dirty = generate(4000, 11, 0.2, 1'000'000, &s);
  REQUIRE(dirty.size() > clean.size());

  std::vector<std::string> valid;
  std::map<spate::ClickRule, int> broken;
  std::size_t empty_lines = 0, long_lines = 0;
  for (const auto& line : data_lines(dirty)) {
    spate::ClickView v;
    const spate::ClickParse p = spate::parse_click(line, v);
    if (p.ok()) {
      valid.push_back(line);
    } else {
      ++broken[p.rule];
      empty_lines += line.empty();
      long_lines += line.size() >= 10'240;
      REQUIRE(line.size() <= 1'048'576);
    }
  }
  CHECK(valid == data_lines(clean));
  CHECK(s.malformed_lines == static_cast<std::int64_t>(data_lines(dirty).size() - valid.size()));
  CHECK(s.malformed_lines > 600);  // about 20% of 4000
  CHECK(s.malformed_lines < 1000);
  // Every kind the spec lists shows up, plus the other rules.
  CHECK(broken[spate::ClickRule::field_count] > 0);
  CHECK(broken[spate::ClickRule::empty_field] > 0);
  CHECK(broken[spate::ClickRule::bad_number] > 0);
  CHECK(broken[spate::ClickRule::bad_event] > 0);
  CHECK(broken[spate::ClickRule::invalid_utf8] > 0);
  CHECK(empty_lines > 0);
  CHECK(long_lines > 0);
  // The first line is still the header.
  CHECK(dirty.substr(0, kHeader.size()) == kHeader);
}

TEST_CASE("generated events are about 90/9/1% and clicks follow an impression the user saw",
          "[clicklog][generator]") {
  const auto lines = data_lines(generate(20000, 3));
  std::map<spate::Event, int> events;
  std::set<std::tuple<std::string, std::int64_t, std::int64_t, std::string>> seen;
  std::map<std::string, int> per_user, per_country;
  std::set<std::string> devices;
  std::int64_t first_ts = 0, last_ts = 0, out_of_order = 0, prev_ts = 0;
  for (const auto& line : lines) {
    spate::ClickView v;
    REQUIRE(spate::parse_click(line, v).ok());
    ++events[v.event];
    const auto key =
        std::make_tuple(std::string(v.user_id), v.campaign_id, v.ad_id, std::string(v.url));
    if (v.event == spate::Event::impression) {
      seen.insert(key);
    } else {
      INFO(line);
      CHECK(seen.count(key) == 1);
    }
    CHECK(v.ad_id / 100 == v.campaign_id);
    CHECK(v.campaign_id >= 1);
    CHECK(v.campaign_id <= 1000);
    CHECK(v.url.substr(0, 3) == "/p/");
    CHECK(v.country.size() == 2);
    ++per_user[std::string(v.user_id)];
    ++per_country[std::string(v.country)];
    devices.insert(std::string(v.device));
    if (first_ts == 0) first_ts = v.ts;
    out_of_order += v.ts < prev_ts;
    prev_ts = v.ts;
    last_ts = std::max(last_ts, v.ts);
  }
  const double n = static_cast<double>(lines.size());
  CHECK(events[spate::Event::impression] / n == Approx(0.90).margin(0.02));
  CHECK(events[spate::Event::click] / n == Approx(0.09).margin(0.015));
  CHECK(events[spate::Event::conversion] / n == Approx(0.01).margin(0.005));
  CHECK(devices == std::set<std::string>{"ctv", "desktop", "mobile", "tablet"});
  CHECK(per_country.size() > 30);
  CHECK(per_country.size() <= 50);
  CHECK(per_country["US"] > per_country["BD"] * 5);  // skewed
  // Zipf users: the heaviest user has a large share, yet there are many distinct users.
  int heaviest = 0;
  for (const auto& [user, count] : per_user) heaviest = std::max(heaviest, count);
  CHECK(heaviest > 20000 / 50);
  CHECK(per_user.size() > 5000);
  // One day of epoch milliseconds, increasing with some jitter.
  CHECK(last_ts - first_ts > 80'000'000);
  CHECK(last_ts - first_ts < 86'400'000);
  CHECK(out_of_order > 0);
  CHECK(out_of_order < 20000 / 2);
}

TEST_CASE("the user count bounds the distinct user ids", "[clicklog][generator]") {
  std::set<std::string> users;
  for (const auto& line : data_lines(generate(3000, 5, 0, 50))) {
    spate::ClickView v;
    REQUIRE(spate::parse_click(line, v).ok());
    users.insert(std::string(v.user_id));
  }
  CHECK(users.size() <= 50);
  CHECK(users.size() > 30);
}

TEST_CASE("campaigns.tsv leaves about 1% of ids out and adds 1001..1010 that have no events",
          "[clicklog][generator]") {
  const std::string table = spate::generate_campaigns(9);
  const auto lines = spate::test::reference_lines(table);
  REQUIRE(lines.at(0) == "campaign_id\tadvertiser\tbudget_micros");
  std::set<std::int64_t> ids;
  std::set<std::string> advertisers;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    spate::Campaign c;
    REQUIRE(spate::parse_campaign(lines[i], c));
    CHECK(ids.insert(c.campaign_id).second);  // unique
    advertisers.insert(std::string(c.advertiser));
  }
  for (std::int64_t id = 1001; id <= 1010; ++id) CHECK(ids.count(id) == 1);
  int missing = 0;
  for (std::int64_t id = 1; id <= 1000; ++id) missing += ids.count(id) == 0;
  CHECK(missing == 10);
  CHECK(ids.size() == 1000);
  CHECK(advertisers.size() > 50);

  // Events use 1..1000 only, and some of them hit campaigns missing from the table.
  int events_on_missing = 0;
  for (const auto& line : data_lines(generate(5000, 9))) {
    spate::ClickView v;
    REQUIRE(spate::parse_click(line, v).ok());
    CHECK(v.campaign_id <= 1000);
    events_on_missing += ids.count(v.campaign_id) == 0;
  }
  CHECK(events_on_missing > 0);
}

TEST_CASE("generate_clicks writes the log and campaigns.tsv beside it, same bytes as the sink",
          "[clicklog][generator]") {
  TempDir dir;
  spate::ClickGenOptions o;
  o.rows = 2000;
  o.seed = 4;
  o.bad_rate = 0.01;
  o.out = (dir.path / "clicks.tsv").string();
  const spate::ClickGenSummary s = spate::generate_clicks(o);
  CHECK(s.campaigns_out == (dir.path / "campaigns.tsv").string());
  CHECK(spate::test::reference_read_file(o.out) == generate(2000, 4, 0.01));
  CHECK(spate::test::reference_read_file(s.campaigns_out) == spate::generate_campaigns(4));
  CHECK(fs::file_size(o.out) == s.bytes);

  o.campaigns_out = (dir.path / "dim.tsv").string();
  CHECK(spate::generate_clicks(o).campaigns_out == o.campaigns_out);
  CHECK(fs::exists(o.campaigns_out));
}

TEST_CASE("the generator refuses bad options and unwritable paths", "[clicklog][generator]") {
  TempDir dir;
  spate::ClickGenOptions o;
  o.rows = 10;
  o.out = (dir.path / "c.tsv").string();
  auto bad = o;
  bad.rows = -1;
  CHECK_THROWS_AS(spate::generate_clicks(bad), spate::config_error);
  bad = o;
  bad.bad_rate = 1.5;
  CHECK_THROWS_AS(spate::generate_clicks(bad), spate::config_error);
  bad = o;
  bad.users = 0;
  CHECK_THROWS_AS(spate::generate_clicks(bad), spate::config_error);
  bad = o;
  bad.out = (dir.path / "campaigns.tsv").string();
  CHECK_THROWS_AS(spate::generate_clicks(bad), spate::config_error);
  bad = o;
  bad.out = (dir.path / "no-such-dir" / "c.tsv").string();
  CHECK_THROWS_AS(spate::generate_clicks(bad), spate::io_error);
  CHECK(spate::default_campaigns_path("data/clicks.tsv") == "data/campaigns.tsv");
  CHECK(spate::default_campaigns_path("clicks.tsv") == "campaigns.tsv");
}
