// Tests of read_json_lines: every master reads what Boost.JSON and the documented binding rules
// read, however splits cut the files, from plain, gzip and zstd files; bad lines of every kind
// (not JSON, not an object, invalid UTF-8, deep nesting, missing or mistyped fields) are counted,
// or fail strict jobs with file, line and field.
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "compressed_files.hpp"
#include "spate/json_lines_reader.hpp"
#include "test_support.hpp"

namespace {

using spate_test::make_context;
using spate_test::TempDir;
using spate_test::write_file;

struct Event {
  std::int64_t ts = 0;
  std::string user;
  std::optional<double> cost;
  bool ok = false;
  std::optional<std::uint32_t> n;
};
using EventTuple = std::tuple<std::int64_t, std::string, std::optional<double>, bool, std::optional<std::uint32_t>>;

spate::ParsedInput<Event> read_events(const spate::Context& ctx, const std::string& path,
                                      spate::JsonLinesOptions options) {
  return spate::read_json_lines<Event>(ctx, path, options, spate::json_field(&Event::ts, "ts"),
                                       spate::json_field(&Event::user, "user"),
                                       spate::json_field(&Event::cost, "cost"), spate::json_field(&Event::ok, "ok"),
                                       spate::json_field(&Event::n, "n"));
}

std::vector<EventTuple> collect_rows(const spate::ParsedInput<Event>& in) {
  return in.records()
      .map([](const Event& e) { return EventTuple(e.ts, e.user, e.cost, e.ok, e.n); })
      .collect();
}

struct RefResult {
  std::vector<EventTuple> rows;
  std::uint64_t malformed = 0;
};

/// One line by the documented rules, with Boost.JSON as the parser; `duplicate` marks lines the
/// generator wrote with a bound field twice (Boost.JSON keeps one of them silently).
void reference_line(std::string line, bool duplicate, RefResult& out) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.find_first_not_of(" \t\r") == std::string::npos) return;
  boost::json::parse_options opts;
  opts.max_depth = 1024;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec, {}, opts);
  if (ec || !v.is_object() || duplicate) {
    ++out.malformed;
    return;
  }
  const auto& o = v.as_object();
  auto bad = [&] { ++out.malformed; };
  const auto* ts = o.if_contains("ts");
  const auto* user = o.if_contains("user");
  const auto* cost = o.if_contains("cost");
  const auto* ok = o.if_contains("ok");
  const auto* n = o.if_contains("n");
  if (!ts || !(ts->is_int64() || (ts->is_uint64() && ts->as_uint64() <= INT64_MAX))) return bad();
  if (!user || !user->is_string()) return bad();
  std::optional<double> c;
  if (cost && !cost->is_null()) {
    if (!cost->is_number()) return bad();
    c = cost->to_number<double>();
  }
  if (!ok || !ok->is_bool()) return bad();
  std::optional<std::uint32_t> count;
  if (n && !n->is_null()) {
    if (n->is_int64() && n->as_int64() >= 0 && n->as_int64() <= UINT32_MAX) {
      count = static_cast<std::uint32_t>(n->as_int64());
    } else if (n->is_uint64() && n->as_uint64() <= UINT32_MAX) {
      count = static_cast<std::uint32_t>(n->as_uint64());
    } else {
      return bad();
    }
  }
  std::int64_t t = ts->is_int64() ? ts->as_int64() : static_cast<std::int64_t>(ts->as_uint64());
  out.rows.emplace_back(t, std::string(user->as_string()), c, ok->as_bool(), count);
}

struct Generated {
  std::string content;
  RefResult ref;
};

Generated random_json_lines(std::uint64_t seed, std::size_t lines) {
  std::mt19937_64 rng(seed);
  Generated g;
  for (std::size_t i = 0; i < lines; ++i) {
    std::string line;
    bool duplicate = false;
    if (rng() % 6 == 0) {
      static const std::vector<std::string> bad{
          R"({"user":"a","ok":true})",                    // ts missing
          R"({"ts":"5","user":"a","ok":true})",           // ts a string
          R"({"ts":1.5,"user":"a","ok":true})",           // ts not an integer
          R"({"ts":1,"user":5,"ok":true})",               // user not a string
          R"({"ts":1,"user":"a","ok":"true"})",           // ok not a bool
          R"({"ts":1,"user":"a","ok":true,"n":-1})",      // n negative
          R"({"ts":1,"user":"a","ok":true,"n":5000000000})",  // n past uint32
          R"({"ts":1,"user":"a","ok":null})",             // required field null
          R"({"ts":1,"user":"a","ok":true,"cost":"x"})",  // cost not a number
          R"([1,2])", "5", R"("s")", "null", "true",      // not objects
          R"({"ts":1,"user":"a",)", R"({ts:1})", "{", "}", R"({"ts":1 "user":"a"})",  // not JSON
          "{\"ts\":1,\"user\":\"\xff\",\"ok\":true}",     // invalid UTF-8
          R"({"ts":1,"user":"a","ok":true} x)", R"({"ts":1,"user":"a","ok":true}{})",  // trailing
          R"({"ts":1,"user":"a","ok":true,"ts":2})",      // a bound field twice
          R"({"ts":1,"user":)" + std::string(3000, '[') + std::string(3000, ']') + R"(,"ok":true})",
          std::string(5000, '[') + std::string(5000, ']'),
      };
      line = bad[rng() % bad.size()];
      duplicate = line.find("\"ts\":2") != std::string::npos;
    } else {
      std::vector<std::string> fields;
      fields.push_back("\"ts\":" + std::to_string(static_cast<std::int64_t>(rng() % 2'000'000) - 1'000'000));
      static const std::vector<std::string> users{R"("u1")", R"("caf\u00e9")", R"("a\"b\\c\n")", "\"\xc3\xa9t\xc3\xa9\"", R"("")"};
      fields.push_back("\"user\":" + users[rng() % users.size()]);
      switch (rng() % 4) {
        case 0: break;
        case 1: fields.push_back(R"("cost":null)"); break;
        case 2: fields.push_back("\"cost\":" + std::to_string(rng() % 1000)); break;
        default: fields.push_back("\"cost\":" + std::to_string(static_cast<double>(rng() % 100000) / 64.0));
      }
      fields.push_back(std::string("\"ok\":") + (rng() % 2 ? "true" : "false"));
      if (rng() % 2) fields.push_back("\"n\":" + std::to_string(rng() % 4'000'000'000ull));
      if (rng() % 3 == 0) fields.push_back(R"("extra":{"a":[1,2,{"b":null}],"s":"x\"y"})");
      if (rng() % 5 == 0) fields.push_back(R"("deep":)" + std::string(2000, '[') + std::string(2000, ']'));
      std::shuffle(fields.begin(), fields.end(), rng);
      line = "{";
      for (std::size_t k = 0; k < fields.size(); ++k) line += (k ? (rng() % 3 ? "," : " , ") : "") + fields[k];
      line += rng() % 4 ? "}" : " } ";
    }
    if (rng() % 20 == 0) g.content += "\n";  // a blank line
    reference_line(line, duplicate, g.ref);
    g.content += line;
    g.content += (i + 1 == lines && rng() % 2) ? "" : (rng() % 4 == 0 ? "\r\n" : "\n");
  }
  return g;
}

}  // namespace

TEST_CASE("read_json_lines reads exactly the rows and malformed lines of a Boost.JSON reference, in every master",
          "[json]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  for (std::uint64_t seed : spate_test::seeds(ctx)) {
    Generated g = random_json_lines(seed, 400);
    REQUIRE(g.ref.rows.size() > 250);
    REQUIRE(g.ref.malformed > 20);
    const std::string path = dir.file("events-" + std::to_string(seed) + ".jsonl");
    write_file(path, g.content);
    for (std::size_t parts : {std::size_t{1}, std::size_t{3}, g.content.size() / 400}) {
      CAPTURE(seed, parts);
      auto in = read_events(ctx, path, {.min_partitions = parts});
      CHECK(collect_rows(in) == g.ref.rows);
      CHECK(in.malformed_lines() == g.ref.malformed);
    }
  }
}

TEST_CASE("read_json_lines reads gzip and zstd files like plain ones", "[json]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  RefResult ref;
  for (int i = 0; i < 3; ++i) {
    Generated g = random_json_lines(50 + i, 150);
    ref.rows.insert(ref.rows.end(), g.ref.rows.begin(), g.ref.rows.end());
    ref.malformed += g.ref.malformed;
    if (i == 0) write_file(dir.file("a.jsonl"), g.content);
    if (i == 1) spate_test::write_gzip(dir.file("b.jsonl.gz"), g.content);
    if (i == 2) spate_test::write_zstd(dir.file("c.jsonl.zst"), g.content);
  }
  auto in = read_events(ctx, dir.str(), {.min_partitions = 6});
  CHECK(collect_rows(in) == ref.rows);
  CHECK(in.malformed_lines() == ref.malformed);
}

TEST_CASE("read_json_lines reads a line longer than its split once, in the split where it starts", "[json]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string long_user(400'000, 'q');
  const std::string content = R"({"ts":1,"user":"a","ok":true})" "\n" R"({"ts":2,"user":")" + long_user +
                              R"(","ok":false})" "\n" R"({"ts":3,"user":"c","ok":true})" "\n";
  write_file(dir.file("long.jsonl"), content);
  auto in = read_events(ctx, dir.file("long.jsonl"), {.min_partitions = content.size() / 5000});
  auto rows = collect_rows(in);
  REQUIRE(rows.size() == 3);
  CHECK(std::get<1>(rows[1]) == long_user);
  CHECK(std::get<0>(rows[2]) == 3);
}

TEST_CASE("read_json_lines in strict mode fails the job naming the file, line and field", "[json]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string path = dir.file("strict.jsonl");
  write_file(path, R"({"ts":1,"user":"a","ok":true})" "\n\n" R"({"ts":2,"user":"b","ok":"yes"})" "\n");
  REQUIRE_THROWS_WITH(read_events(ctx, path, {.strict = true}).records().count(),
                      Catch::Contains(path + ":3:") && Catch::Contains("field 'ok': not true or false"));
  write_file(path, R"({"ts":1,"user":"a","ok":true})" "\n" R"({"user":"b","ok":true})" "\n");
  REQUIRE_THROWS_WITH(read_events(ctx, path, {.strict = true}).records().count(),
                      Catch::Contains(path + ":2:") && Catch::Contains("field 'ts': missing field"));
  write_file(path, "[1]\n");
  REQUIRE_THROWS_WITH(read_events(ctx, path, {.strict = true}).records().count(),
                      Catch::Contains(path + ":1:") && Catch::Contains("not a JSON object"));
}

TEST_CASE("read_json_lines refuses a field name bound twice", "[json]") {
  auto ctx = make_context("local[1]");
  TempDir dir;
  write_file(dir.file("a.jsonl"), "{}\n");
  REQUIRE_THROWS_AS(spate::read_json_lines<Event>(ctx, dir.file("a.jsonl"), {}, spate::json_field(&Event::ts, "x"),
                                                  spate::json_field(&Event::user, "x")),
                    spate::config_error);
}

TEST_CASE("read_json_lines fills std::string_view members with unescaped views a map can copy", "[json]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  write_file(dir.file("v.jsonl"), R"({"id":1,"s":"a\"b\u00e9"})" "\n" R"({"id":2,"s":"c"})" "\n");
  struct ViewRow {
    std::int64_t id = 0;
    std::string_view s;
  };
  auto in = spate::read_json_lines<ViewRow>(ctx, dir.file("v.jsonl"), {.min_partitions = 2},
                                            spate::json_field(&ViewRow::id, "id"), spate::json_field(&ViewRow::s, "s"));
  auto rows = in.records().map([](const ViewRow& r) { return std::pair(r.id, std::string(r.s)); }).collect();
  CHECK(rows == std::vector<std::pair<std::int64_t, std::string>>{{1, "a\"b\xc3\xa9"}, {2, "c"}});
}
