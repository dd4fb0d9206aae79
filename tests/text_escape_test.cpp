// Tests of the default text format's escaping (spate/text_escape.hpp): its inverse undoes it for
// any bytes, and what save_as_text_file writes reads back, through text_file, as the records it
// was written from, in every master.
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spate/text_escape.hpp"
#include "test_support.hpp"

namespace {

using namespace spate_test;

/// n strings of random bytes, biased to the ones that need escaping and to the letters that
/// follow a backslash in an escape (so that "\\" + "n" and "\n" both occur), empty ones too.
std::vector<std::string> hostile_strings(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  const std::string alphabet = std::string("\\\t\n\rtnr\\ a\0\x7f\xff", 14);
  std::uniform_int_distribution<int> len(0, 12), pick(0, static_cast<int>(alphabet.size()) - 1), byte(0, 255);
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s;
    for (int j = len(rng); j > 0; --j)
      s += (j % 5 == 0) ? static_cast<char>(byte(rng)) : alphabet[static_cast<std::size_t>(pick(rng))];
    v.push_back(std::move(s));
  }
  v.push_back("");
  v.push_back("\\");
  v.push_back("\\\\n");
  v.push_back("\r");
  v.push_back("ends with a return\r");
  return v;
}

}  // namespace

TEST_CASE("escape_text_field writes backslash, tab, newline and return as two-character escapes") {
  REQUIRE(spate::escape_text_field("plain text") == "plain text");
  REQUIRE(spate::escape_text_field("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e");
  REQUIRE(spate::escape_text_field("") == "");
  std::string with_nul("x\0y", 3);
  REQUIRE(spate::escape_text_field(with_nul) == with_nul);
}

TEST_CASE("unescape_text_field undoes escape_text_field for any bytes") {
  for (const auto& s : hostile_strings(7, 2000)) {
    std::string escaped = spate::escape_text_field(s);
    CAPTURE(s, escaped);
    REQUIRE(escaped.find('\t') == std::string::npos);
    REQUIRE(escaped.find('\n') == std::string::npos);
    REQUIRE(escaped.find('\r') == std::string::npos);
    REQUIRE(spate::unescape_text_field(escaped) == s);
  }
}

TEST_CASE("unescape_text_field refuses an escape the format never writes, naming the byte") {
  REQUIRE_THROWS_WITH(spate::unescape_text_field("ab\\x"),
                      Catch::Contains("unknown escape") && Catch::Contains("byte 2"));
  REQUIRE_THROWS_WITH(spate::unescape_text_field("abc\\"),
                      Catch::Contains("lone backslash") && Catch::Contains("byte 3"));
  REQUIRE_THROWS_AS(spate::unescape_text_field("\\"), spate::input_error);
}

TEST_CASE("split_text_fields splits at raw tabs only, then unescapes each field") {
  REQUIRE(same(spate::split_text_fields("a\\tb\tc\\\\\t"), std::vector<std::string>{"a\tb", "c\\", ""}));
  REQUIRE(same(spate::split_text_fields(""), std::vector<std::string>{""}));
}

TEST_CASE("save_as_text_file escapes hostile strings so that text_file reads back the records") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto words = hostile_strings(3, 300);
  for (std::size_t parts : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(parts);
    std::string dir = tmp.file("strings-" + std::to_string(parts));
    ctx.parallelize(words, parts).save_as_text_file(dir);
    auto lines = ctx.text_file(dir).map([](std::string_view line) { return spate::unescape_text_field(line); }).collect();
    REQUIRE(same(lines, words));
  }
}

TEST_CASE("save_as_text_file writes a pair or tuple line with exactly its fields, whatever they hold") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto a = hostile_strings(11, 200);
  auto b = hostile_strings(12, 200);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::tuple<std::string, int, std::string>> tuples;
  for (std::size_t i = 0; i < a.size(); ++i) {
    pairs.emplace_back(a[i], b[i]);
    tuples.emplace_back(b[i], static_cast<int>(i) - 50, a[i]);
  }
  ctx.parallelize(pairs, 3).save_as_text_file(tmp.file("pairs"));
  auto read_pairs = ctx.text_file(tmp.file("pairs"))
                        .map([](std::string_view line) {
                          auto f = spate::split_text_fields(line);
                          if (f.size() != 2) throw spate::error("a pair line without 2 fields");
                          return std::pair(f[0], f[1]);
                        })
                        .collect();
  REQUIRE(same(read_pairs, pairs));

  ctx.parallelize(tuples, 2).save_as_text_file(tmp.file("tuples"));
  auto read_tuples = ctx.text_file(tmp.file("tuples"))
                         .map([](std::string_view line) {
                           auto f = spate::split_text_fields(line);
                           if (f.size() != 3) throw spate::error("a tuple line without 3 fields");
                           return std::tuple(f[0], std::stoi(f[1]), f[2]);
                         })
                         .collect();
  REQUIRE(same(read_tuples, tuples));
}

TEST_CASE("save_as_text_file escapes a char field") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::vector<std::pair<char, int>> v{{'\t', 1}, {'\n', 2}, {'x', 3}};
  ctx.parallelize(v, 2).save_as_text_file(tmp.file("chars"));
  REQUIRE(same(ctx.text_file(tmp.file("chars")).map([](std::string_view l) { return std::string(l); }).collect(),
               std::vector<std::string>{"\\t\t1", "\\n\t2", "x\t3"}));
}
