// Tests of the block parser behind read_click_log: list_separators with each instruction set this
// CPU has, and parse_click_block against parse_click line by line, on generated logs and on
// lines broken in every way the rules know.
#include <spate/clicklog.hpp>
#include <spate/clicklog_generator.hpp>

#include "clicklog/click_block_parse.hpp"
#include "clicklog/separator_scan.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using spate::ClickView;
using spate::detail::ScanIsa;

std::vector<ScanIsa> supported_isas() {
  std::vector<ScanIsa> isas;
  for (ScanIsa isa : {ScanIsa::portable, ScanIsa::sse2, ScanIsa::avx2, ScanIsa::avx512}) {
    if (spate::detail::scan_isa_supported(isa)) isas.push_back(isa);
  }
  return isas;
}

const char* isa_name(ScanIsa isa) {
  switch (isa) {
    case ScanIsa::portable:
      return "portable";
    case ScanIsa::sse2:
      return "sse2";
    case ScanIsa::avx2:
      return "avx2";
    case ScanIsa::avx512:
      return "avx512";
  }
  return "?";
}

/// What the parser reported for one line.
struct Outcome {
  std::size_t offset;  // of the line in the block
  bool ok;
  ClickView view;      // when ok
  std::string_view line;  // when not

  friend bool operator==(const Outcome&, const Outcome&) = default;
};

/// The lines of text (each ending with '\n') as parse_click sees them, one by one.
std::vector<Outcome> expected_outcomes(std::string_view text) {
  std::vector<Outcome> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    std::size_t size = nl - start;
    if (size > 0 && text[nl - 1] == '\r') --size;
    const std::string_view line = text.substr(start, size);
    ClickView v;
    if (spate::parse_click(line, v).ok()) {
      out.push_back({start, true, v, {}});
    } else {
      out.push_back({start, false, {}, line});
    }
    start = nl + 1;
  }
  return out;
}

/// The lines of text through parse_click_block, from a buffer whose padding holds separators
/// that must not be taken for data.
std::vector<Outcome> block_outcomes(ScanIsa isa, std::string_view text,
                                    std::vector<char>& buffer) {
  buffer.assign(text.begin(), text.end());
  for (std::size_t i = 0; i < spate::detail::kClickBlockOverread; ++i) {
    buffer.push_back("\t\n9\xC3"[i % 4]);
  }
  const char* begin = buffer.data();
  const char* end = begin + text.size();
  std::vector<Outcome> out;
  const std::size_t lines = spate::detail::parse_click_block(
      isa, begin, end,
      [&](ClickView&& v, const char* at) {
        out.push_back({static_cast<std::size_t>(at - begin), true, v, {}});
      },
      [&](std::string_view line, const char* at) {
        out.push_back({static_cast<std::size_t>(at - begin), false, {}, line});
      });
  CHECK(lines == out.size());
  return out;
}

/// Views into buffer as offsets, so outcomes of two buffers compare.
void rebase(std::vector<Outcome>& outcomes, const char* from, const char* to) {
  const auto move = [&](std::string_view& s) {
    if (s.data() != nullptr) s = std::string_view(to + (s.data() - from), s.size());
  };
  for (Outcome& o : outcomes) {
    move(o.line);
    move(o.view.user_id);
    move(o.view.session_id);
    move(o.view.url);
    move(o.view.country);
    move(o.view.device);
  }
}

void check_block(std::string_view text) {
  std::vector<Outcome> expected = expected_outcomes(text);
  for (ScanIsa isa : supported_isas()) {
    INFO("instruction set " << isa_name(isa));
    std::vector<char> buffer;
    std::vector<Outcome> got = block_outcomes(isa, text, buffer);
    rebase(got, buffer.data(), text.data());
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("line at offset " << expected[i].offset << ": " << text.substr(expected[i].offset, 120));
      REQUIRE(got[i] == expected[i]);
    }
  }
}

}  // namespace

TEST_CASE("list_separators finds every tab, newline and high byte at every offset and length, "
          "with each instruction set",
          "[clicklog][block]") {
  std::mt19937_64 rng(7);
  const char bytes[] = {'a', '\t', '\n', '\x80', '\xFF', '0', '\r', '\0', '\x7F'};
  for (std::size_t n = 0; n <= 300; ++n) {
    std::vector<char> buf(n + spate::detail::kSeparatorOverread + 1);
    for (char& c : buf) c = bytes[rng() % std::size(bytes)];
    std::vector<const char*> expected;
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(buf[i]);
      if (c == '\t' || c == '\n' || c >= 0x80) expected.push_back(buf.data() + i);
    }
    for (ScanIsa isa : supported_isas()) {
      INFO("length " << n << ", instruction set " << isa_name(isa));
      std::vector<const char*> got(n + spate::detail::kSeparatorSlack);
      got.resize(spate::detail::list_separators(isa, buf.data(), n, got.data()));
      REQUIRE(got == expected);
    }
  }
}

TEST_CASE("parse_click_block agrees with parse_click on a generated log with malformed lines",
          "[clicklog][block]") {
  spate::ClickGenOptions options;
  options.rows = 20000;
  options.seed = 3;
  options.users = 500;
  options.bad_rate = 0.05;
  std::string log;
  spate::generate_clicks_to(options, [&](std::string_view chunk) { log += chunk; });
  log.erase(0, log.find('\n') + 1);  // the header is the node's to skip
  check_block(log);
}

TEST_CASE("parse_click_block agrees with parse_click on lines broken in every field", "[clicklog][block]") {
  const std::string good =
      "1709251200123\tu42\t9f2c1e0a55d3b7e1\timpression\t17\t1703\t/p/electronics/123\tUS\tmobile\t"
      "1500";
  const std::string alphabet[] = {"\t", "0", "9", "a", "\r", "\xC3", "\xA9", "\xED", "\xA0",
                                  "\x80", "\xF4", "\x8F", "\xF0", "\x90", "\xE0", "click", "1",
                                  "12345678901234567", "conversion", "", "\n"};
  std::mt19937_64 rng(11);
  std::string text;
  for (int i = 0; i < 20000; ++i) {
    std::string line = good;
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (line.size() + 1);
      const std::string& piece = alphabet[rng() % std::size(alphabet)];
      switch (rng() % 3) {
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
    text += line;
    text += rng() % 5 == 0 ? "\r\n" : "\n";
  }
  check_block(text);
}

TEST_CASE("parse_click_block decodes numbers of every length and reads nothing it should not",
          "[clicklog][block]") {
  std::string text;
  for (std::size_t len = 1; len <= 19; ++len) {
    std::string digits;
    for (std::size_t i = 0; i < len; ++i) digits += static_cast<char>('1' + i % 9);
    for (int field : {0, 4, 5, 9}) {
      std::string fields[10] = {"1", "u", "s", "click", "2", "3", "/", "DE", "tv", "4"};
      fields[field] = digits;
      for (int k = 0; k < 10; ++k) text += fields[k] + (k == 9 ? "\n" : "\t");
    }
  }
  // The shortest valid line, last in the block: its last field ends right at the padding.
  text += "1\tu\ts\tclick\t2\t3\t/\tD\tt\t4\r\n";
  check_block(text);
}

TEST_CASE("parse_click_block takes an empty block and lines that are nothing but separators",
          "[clicklog][block]") {
  check_block("");
  check_block("\n");
  check_block("\r\n\n\t\t\t\t\t\t\t\t\t\n\t\t\t\t\t\t\t\t\t\t\n\xC3\n");
}
