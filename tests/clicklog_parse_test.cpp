// Tests of parse_click (each validity rule of CLICKLOG.md, exactly), parse_campaign, the owned
// Click record and the shared output formatting.
#include <spate/clicklog.hpp>

#include "clicklog/line_scan.hpp"
#include "clicklog_reference.hpp"

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace {

using spate::ClickParse;
using spate::ClickRule;

const std::array<std::string, 10> kGoodFields = {
    "1709251200123",      "u42", "9f2c1e0a55d3b7e1", "impression", "17", "1703",
    "/p/electronics/123", "US",  "mobile",           "1500"};

std::string join(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i == 0 ? "" : "\t") + fields[i];
  return line;
}

// The good line with field `k` (1-based) replaced.
std::string with_field(int k, const std::string& value) {
  std::vector<std::string> f(kGoodFields.begin(), kGoodFields.end());
  f[static_cast<std::size_t>(k - 1)] = value;
  return join(f);
}

// Parses a copy in a buffer of exactly the line's size, so that a sanitizer build catches any
// read past either end of the line.
ClickParse parse(const std::string& line) {
  const std::vector<char> exact(line.begin(), line.end());
  spate::ClickView v;
  return spate::parse_click(std::string_view(exact.data(), exact.size()), v);
}

ClickParse rule(ClickRule r, int field) { return ClickParse{r, field}; }

}  // namespace

TEST_CASE("parse_click decodes every field of a valid line as views into it", "[clicklog]") {
  const std::string line = join({kGoodFields.begin(), kGoodFields.end()});
  spate::ClickView v;
  REQUIRE(spate::parse_click(line, v).ok());
  CHECK(v.ts == 1709251200123);
  CHECK(v.user_id == "u42");
  CHECK(v.session_id == "9f2c1e0a55d3b7e1");
  CHECK(v.event == spate::Event::impression);
  CHECK(v.campaign_id == 17);
  CHECK(v.ad_id == 1703);
  CHECK(v.url == "/p/electronics/123");
  CHECK(v.country == "US");
  CHECK(v.device == "mobile");
  CHECK(v.cost_micros == 1500);
  CHECK(v.url.data() >= line.data());
  CHECK(v.url.data() < line.data() + line.size());
}

TEST_CASE("parse_click accepts exactly the three event names", "[clicklog]") {
  spate::ClickView v;
  REQUIRE(spate::parse_click(with_field(4, "impression"), v).ok());
  CHECK(v.event == spate::Event::impression);
  REQUIRE(spate::parse_click(with_field(4, "click"), v).ok());
  CHECK(v.event == spate::Event::click);
  REQUIRE(spate::parse_click(with_field(4, "conversion"), v).ok());
  CHECK(v.event == spate::Event::conversion);
  for (const char* bad : {"Click", "CLICK", "clicks", "click ", " click", "impressio",
                          "impressions", "conversio", "view", "c", "impression\r"}) {
    INFO(bad);
    CHECK(parse(with_field(4, bad)) == rule(ClickRule::bad_event, 4));
  }
}

TEST_CASE("parse_click rule 1: exactly nine tabs", "[clicklog]") {
  const std::string good = join({kGoodFields.begin(), kGoodFields.end()});
  CHECK(parse(good).ok());
  CHECK(parse("") == rule(ClickRule::field_count, 0));
  CHECK(parse("no tabs at all") == rule(ClickRule::field_count, 0));
  CHECK(parse(good + "\t") == rule(ClickRule::field_count, 0));
  CHECK(parse(good + "\textra") == rule(ClickRule::field_count, 0));
  CHECK(parse(good.substr(0, good.rfind('\t'))) == rule(ClickRule::field_count, 0));
  CHECK(parse(std::string(9, '\t')) == rule(ClickRule::empty_field, 1));  // 10 empty fields
  CHECK(parse(std::string(10, '\t')) == rule(ClickRule::field_count, 0));
  CHECK(parse(std::string(100, '\t')) == rule(ClickRule::field_count, 0));
  std::string spaces = good;
  for (char& c : spaces) c = c == '\t' ? ' ' : c;
  CHECK(parse(spaces) == rule(ClickRule::field_count, 0));
  // The count wins over everything else a line breaks.
  CHECK(parse("\xFF\t\t\t") == rule(ClickRule::field_count, 0));
}

TEST_CASE("parse_click rule 2: every empty field is reported with its number", "[clicklog]") {
  for (int k = 1; k <= 10; ++k) {
    INFO("field " << k);
    CHECK(parse(with_field(k, "")) == rule(ClickRule::empty_field, k));
  }
}

TEST_CASE("parse_click rule 3: numbers are 1 to 18 ASCII digits", "[clicklog]") {
  spate::ClickView v;
  for (int k : {1, 5, 6, 10}) {
    INFO("field " << k);
    REQUIRE(spate::parse_click(with_field(k, "999999999999999999"), v).ok());
    CHECK(parse(with_field(k, "0")).ok());
    CHECK(parse(with_field(k, "000000000000000000")).ok());
    CHECK(parse(with_field(k, "1000000000000000000")) == rule(ClickRule::bad_number, k));
    CHECK(parse(with_field(k, "0000000000000000000")) == rule(ClickRule::bad_number, k));
    for (const char* bad : {"-1", "+1", " 1", "1 ", "1.5", "1e5", "0x10", "12a", "a",
                            "\x31\xCC\x81", "\xEF\xBC\x91", "1\r", "١"}) {
      INFO(bad);
      CHECK(parse(with_field(k, bad)) == rule(ClickRule::bad_number, k));
    }
  }
  REQUIRE(spate::parse_click(with_field(1, "999999999999999999"), v).ok());
  CHECK(v.ts == 999999999999999999);
  REQUIRE(spate::parse_click(with_field(10, "007"), v).ok());
  CHECK(v.cost_micros == 7);
}

TEST_CASE("parse_click decodes numbers of every length and rejects a bad byte at every position",
          "[clicklog]") {
  // Exercises the 8-at-a-time decoder's short, long and line-edge cases against plain code.
  spate::ClickView v;
  for (int k : {1, 5, 6, 10}) {
    for (std::size_t len = 1; len <= 19; ++len) {
      std::string digits;
      for (std::size_t i = 0; i < len; ++i) digits += static_cast<char>('1' + (i * 7 + len) % 9);
      const std::string line = with_field(k, digits);
      INFO("field " << k << " digits " << digits);
      if (len <= 18) {
        REQUIRE(spate::parse_click(line, v).ok());
        const std::int64_t want = std::stoll(digits);
        const std::int64_t got = k == 1   ? v.ts
                                 : k == 5 ? v.campaign_id
                                 : k == 6 ? v.ad_id
                                          : v.cost_micros;
        CHECK(got == want);
      } else {
        CHECK(parse(line) == rule(ClickRule::bad_number, k));
      }
      for (std::size_t pos = 0; pos < len && len <= 18; ++pos) {
        for (char bad : {'/', ':', 'a', ' ', '\0', '\x80', '\xB9', '\xF0'}) {
          std::string broken = digits;
          broken[pos] = bad;
          CHECK(parse(with_field(k, broken)) == rule(ClickRule::bad_number, k));
        }
      }
    }
  }
}

TEST_CASE("parse_click numbers work at the very edges of a short line", "[clicklog]") {
  spate::ClickView v;
  REQUIRE(spate::parse_click("1\ta\tb\tclick\t2\t3\tu\tc\td\t4", v).ok());
  CHECK(v.ts == 1);
  CHECK(v.campaign_id == 2);
  CHECK(v.ad_id == 3);
  CHECK(v.cost_micros == 4);
  REQUIRE(spate::parse_click("12345678\ta\tb\tclick\t2\t3\tu\tc\td\t87654321", v).ok());
  CHECK(v.ts == 12345678);
  CHECK(v.cost_micros == 87654321);
  CHECK(parse("1\ta\tb\tclick\t2\t3\tu\tc\td\t4x") == rule(ClickRule::bad_number, 10));
  CHECK(parse("x\ta\tb\tclick\t2\t3\tu\tc\td\t4") == rule(ClickRule::bad_number, 1));
}

TEST_CASE("parse_click rule 5: the whole line must be valid UTF-8", "[clicklog]") {
  const std::vector<std::string> valid = {"caf\xC3\xA9",       // U+00E9
                                          "\xC2\x80",          // U+0080, smallest 2-byte
                                          "\xDF\xBF",          // U+07FF
                                          "\xE0\xA0\x80",      // U+0800, smallest 3-byte
                                          "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
                                          "\xEE\x80\x80",      // U+E000, just above them
                                          "\xEF\xBF\xBF",      // U+FFFF
                                          "\xF0\x90\x80\x80",  // U+10000, smallest 4-byte
                                          "\xF4\x8F\xBF\xBF",  // U+10FFFF, the largest
                                          "\xE2\x82\xAC\xF0\x9F\x98\x80 mixed \xC3\xBC"};
  for (const std::string& s : valid) {
    for (int k : {2, 3, 7, 8, 9}) {
      INFO("field " << k << " bytes " << s);
      CHECK(parse(with_field(k, s)).ok());
      CHECK(parse(with_field(k, "a-long-ascii-prefix-" + s + "-and-suffix")).ok());
    }
  }
  const std::vector<std::string> invalid = {
      "\x80",                  // lone continuation
      "\xBF",                  //
      "\xC0\x80",              // overlong NUL
      "\xC1\xBF",              // overlong
      "\xE0\x80\x80",          // overlong 3-byte
      "\xE0\x9F\xBF",          // overlong U+07FF
      "\xF0\x80\x80\x80",      // overlong 4-byte
      "\xF0\x8F\xBF\xBF",      // overlong U+FFFF
      "\xED\xA0\x80",          // U+D800 surrogate
      "\xED\xBF\xBF",          // U+DFFF surrogate
      "\xF4\x90\x80\x80",      // U+110000
      "\xF5\x80\x80\x80",      // past U+10FFFF
      "\xF8\x88\x80\x80\x80",  // 5-byte form
      "\xFE",                  //
      "\xFF",                  //
      "\xC3",                  // truncated 2-byte (followed by a tab or the end)
      "\xE2\x82",              // truncated 3-byte
      "\xF0\x9F\x98",          // truncated 4-byte
      "\xC3\x28",              // bad continuation
      "\xE2\x28\xA1"};
  for (const std::string& s : invalid) {
    for (int k : {2, 3, 7, 8, 9}) {
      INFO("field " << k << " bytes " << s);
      CHECK(parse(with_field(k, s)) == rule(ClickRule::invalid_utf8, k));
      CHECK(parse(with_field(k, "a-long-ascii-prefix-" + s)) == rule(ClickRule::invalid_utf8, k));
    }
  }
}

TEST_CASE("parse_click reports the first broken rule in field order", "[clicklog]") {
  std::vector<std::string> f(kGoodFields.begin(), kGoodFields.end());
  f[0] = "";
  f[6] = "\xFF";
  CHECK(parse(join(f)) == rule(ClickRule::empty_field, 1));
  f[0] = "12x";
  CHECK(parse(join(f)) == rule(ClickRule::bad_number, 1));
  f[0] = "12";
  f[3] = "CLICK";
  f[8] = "";
  CHECK(parse(join(f)) == rule(ClickRule::bad_event, 4));
  f[3] = "click";
  CHECK(parse(join(f)) == rule(ClickRule::empty_field, 9));
  f[8] = "ctv";
  CHECK(parse(join(f)) == rule(ClickRule::invalid_utf8, 7));
}

TEST_CASE("parse_click treats a carriage return as data: stripping it is the caller's job",
          "[clicklog]") {
  const std::string good = join({kGoodFields.begin(), kGoodFields.end()});
  CHECK(parse(good + "\r") == rule(ClickRule::bad_number, 10));
  CHECK(parse(with_field(7, "/p/a\rb")).ok());
  CHECK(parse(good + "\n") == rule(ClickRule::bad_number, 10));
}

TEST_CASE("parse_click agrees with the plain reference check on random mutations", "[clicklog]") {
  std::uint64_t state = 12345;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  const std::string alphabet[] = {"\t",   "0",    "9",    "a",     "\r",   "\xC3",
                                  "\xA9", "\xED", "\xA0", "\x80",  "\xF4", "\x8F",
                                  "\xF0", "\x90", "\xE0", "click", "1"};
  const std::string good = join({kGoodFields.begin(), kGoodFields.end()});
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = good;
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % (line.size() + 1);
      const std::string& piece = alphabet[next() % std::size(alphabet)];
      switch (next() % 3) {
        case 0:
          line.insert(pos, piece);
          break;
        case 1:
          if (pos < line.size()) line.erase(pos, 1);
          break;
        default:
          if (pos < line.size()) line.replace(pos, 1, piece);
          break;
      }
    }
    const bool expected = spate::test::reference_is_valid(line);
    valid += expected;
    INFO("line: " << line);
    REQUIRE(parse(line).ok() == expected);

    spate::detail::TabScan a, b;
    spate::detail::scan_tabs(line.data(), line.size(), a);
    spate::detail::scan_tabs_swar(line.data(), line.size(), b);
    REQUIRE(a.count == b.count);
    REQUIRE(a.too_many == b.too_many);
    if (!a.too_many) REQUIRE(a.non_ascii == b.non_ascii);
    for (int t = 0; t < a.count; ++t) REQUIRE(a.tabs[t] == b.tabs[t]);
  }
  CHECK(valid > 1000);  // both outcomes are well represented
  CHECK(valid < 19000);
}

TEST_CASE("the line scanners find tabs and non-ASCII bytes at every offset and length",
          "[clicklog]") {
  for (std::size_t len = 0; len <= 70; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string line(len, 'x');
      line[at] = '\t';
      std::string high(len, 'x');
      high[at] = '\xC3';
      for (const std::string* s : {&line, &high}) {
        spate::detail::TabScan a, b;
        spate::detail::scan_tabs(s->data(), s->size(), a);
        spate::detail::scan_tabs_swar(s->data(), s->size(), b);
        const bool is_tab = s == &line;
        INFO("len " << len << " at " << at);
        REQUIRE(a.count == (is_tab ? 1 : 0));
        REQUIRE(b.count == a.count);
        if (is_tab) REQUIRE(a.tabs[0] == at);
        if (is_tab) REQUIRE(b.tabs[0] == at);
        REQUIRE(a.non_ascii == !is_tab);
        REQUIRE(b.non_ascii == !is_tab);
      }
    }
  }
}

TEST_CASE("describe names the rule and the field for strict-mode errors", "[clicklog]") {
  CHECK(spate::describe(ClickRule::field_count) == "expected 10 tab-separated fields");
  CHECK(spate::describe(ClickRule::ok) == "valid record");
  CHECK(spate::describe(parse(with_field(1, "x1"))) == "field 1 (ts) is not 1-18 ASCII digits");
  CHECK(spate::describe(parse(with_field(3, ""))) == "field 3 (session_id) is empty");
  CHECK(spate::describe(parse(with_field(4, "view"))) ==
        "field 4 (event) is not impression, click or conversion");
  CHECK(spate::describe(parse(with_field(7, "\xFF"))) == "field 7 (url) is not valid UTF-8");
  CHECK(spate::describe(parse("a\tb")) == "expected 10 tab-separated fields");
  CHECK(spate::click_field_name(10) == "cost_micros");
  CHECK(spate::click_field_name(0) == "?");
  CHECK(spate::click_field_name(11) == "?");
}

TEST_CASE("parse_campaign needs 3 fields with numeric id and budget", "[clicklog]") {
  spate::Campaign c;
  REQUIRE(spate::parse_campaign("42\tAcme Media\t1000000", c));
  CHECK(c == spate::Campaign{42, "Acme Media", 1000000});
  REQUIRE(spate::parse_campaign("7\t\xC3\x98rsted Bank\t0", c));
  CHECK(c.advertiser == "\xC3\x98rsted Bank");
  REQUIRE(spate::parse_campaign("7\t\t5", c));  // an empty advertiser is still a field
  CHECK(c.advertiser.empty());
  CHECK_FALSE(spate::parse_campaign("campaign_id\tadvertiser\tbudget_micros", c));
  CHECK_FALSE(spate::parse_campaign("", c));
  CHECK_FALSE(spate::parse_campaign("42\tAcme", c));
  CHECK_FALSE(spate::parse_campaign("42\tAcme\t100\textra", c));
  CHECK_FALSE(spate::parse_campaign("42\tAcme\t", c));
  CHECK_FALSE(spate::parse_campaign("\tAcme\t100", c));
  CHECK_FALSE(spate::parse_campaign("-4\tAcme\t100", c));
  CHECK_FALSE(spate::parse_campaign("4\tAcme\t1.5", c));
  CHECK_FALSE(spate::parse_campaign("4\tAcme\t1000000000000000000", c));
  CHECK_FALSE(spate::parse_campaign("4\tAcme\t100\r", c));
}

TEST_CASE("Click owns a copy of a view and survives a Boost archive round trip", "[clicklog]") {
  std::string line = with_field(4, "conversion");
  spate::ClickView v;
  REQUIRE(spate::parse_click(line, v).ok());
  const spate::Click c = spate::Click::from(v);
  line.assign(line.size(), 'z');  // the owned record no longer depends on the line
  CHECK(c.user_id == "u42");
  CHECK(c.event == spate::Event::conversion);
  CHECK(spate::to_owned(c.view()) == c);

  std::stringstream bytes;
  {
    boost::archive::binary_oarchive out(bytes);
    out << c;
  }
  spate::Click back;
  {
    boost::archive::binary_iarchive in(bytes);
    in >> back;
  }
  CHECK(back == c);
}

TEST_CASE("format_ratio prints %.6f of the double quotient, or NA for a zero denominator",
          "[clicklog]") {
  CHECK(spate::format_ratio(1, 3) == "0.333333");
  CHECK(spate::format_ratio(2, 3) == "0.666667");
  CHECK(spate::format_ratio(1, 8) == "0.125000");
  CHECK(spate::format_ratio(0, 5) == "0.000000");
  CHECK(spate::format_ratio(7, 0) == "NA");
  CHECK(spate::format_ratio(0, 0) == "NA");
  CHECK(spate::format_ratio(9'000'000'000'000'000'000, 1) == "9000000000000000000.000000");
  CHECK(spate::format_ms_as_seconds(1500, 1) == "1.500000");
  CHECK(spate::format_ms_as_seconds(1, 3) == "0.000333");
  CHECK(spate::format_ms_as_seconds(5, 0) == "NA");
  CHECK(spate::format_fixed6(2.5e-7) == "0.000000");
}

TEST_CASE("job names and headers match CLICKLOG.md", "[clicklog]") {
  CHECK(spate::click_job_from_name("ctr") == spate::ClickJob::ctr);
  CHECK(spate::click_job_from_name("wordcount") == spate::ClickJob::wordcount);
  CHECK_FALSE(spate::click_job_from_name("CTR").has_value());
  CHECK_FALSE(spate::click_job_from_name("").has_value());
  CHECK(spate::click_job_name(spate::ClickJob::sessions) == "sessions");
  CHECK(spate::click_job_header(spate::ClickJob::ctr) ==
        "campaign_id\timpressions\tclicks\tconversions\tctr");
  CHECK(spate::click_job_header(spate::ClickJob::uniques) == "country\tusers");
  CHECK(spate::click_job_header(spate::ClickJob::join) ==
        "advertiser\tspend_micros\tbudget_micros\tspend_ratio");
  CHECK(spate::click_job_header(spate::ClickJob::sessions) ==
        "users\tsessions\tmean_events\tmean_duration_s");
  CHECK(spate::click_job_header(spate::ClickJob::wordcount) == "url\tcount");
  CHECK(spate::event_name(spate::Event::click) == "click");
}
