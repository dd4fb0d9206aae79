// Fuzz target: the click-log line parser (parse_click) and the campaigns parser (parse_campaign)
// on any bytes: NUL, invalid UTF-8, stray tabs, lines of any length.
//
// Checks, for any line:
// - both parsers agree with a plain reference of CLICKLOG.md's rules written here, byte by
//   byte and without the parser's word-at-a-time tricks (the rule broken and its field);
// - a parsed row's fields are views into the line, in order, between its tabs;
// - a valid row, printed again (numbers in plain decimal), parses to the same record;
// - describe() of any outcome gives a message;
// - the portable tab scanner finds what the SSE2 one (the one used on x86-64) finds;
// - the block parser (parse_click_block), given the input as lines, reports for each line what
//   parse_click does, with every instruction set this CPU has.
// ASan checks that no parser reads a byte outside the line (or the block and its padding).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clicklog/click_block_parse.hpp"
#include "clicklog/line_scan.hpp"
#include "clicklog/separator_scan.hpp"
#include "../utf8_reference.hpp"
#include "fuzz_support.hpp"
#include "spate/clicklog.hpp"
#include "spate/clicklog_generator.hpp"

namespace {

using spate::ClickParse;
using spate::ClickRule;
using spate_fuzz::fail;
using spate_test::utf8_sequence;

// The reference: split at every tab, then the rules in CLICKLOG.md's order.
std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

bool is_number(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::int64_t number_value(std::string_view s) {
  std::int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

ClickParse reference_parse(std::string_view line) {
  const auto fields = split_tabs(line);
  if (fields.size() != 10) return {ClickRule::field_count, 0};
  for (int k = 1; k <= 10; ++k) {
    std::string_view f = fields[k - 1];
    if (f.empty()) return {ClickRule::empty_field, k};
    if (k == 1 || k == 5 || k == 6 || k == 10) {
      if (!is_number(f)) return {ClickRule::bad_number, k};
    } else if (k == 4) {
      if (f != "impression" && f != "click" && f != "conversion") return {ClickRule::bad_event, k};
    }
  }
  std::size_t field = 1;
  for (std::size_t i = 0; i < line.size();) {
    const std::size_t n = utf8_sequence(line, i);
    if (n == 0) return {ClickRule::invalid_utf8, static_cast<int>(field)};
    if (line[i] == '\t') ++field;
    i += n;
  }
  return {};
}

bool views_into(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_click(std::string_view line) {
  spate::ClickView row;
  const ClickParse got = spate::parse_click(line, row);
  const ClickParse want = reference_parse(line);
  if (got != want)
    fail("parse_click says \"" + spate::describe(got) + "\", the reference \"" +
         spate::describe(want) + "\"");
  if (spate::describe(got).empty()) fail("describe gave no message");
  if (!got.ok()) return;

  const auto fields = split_tabs(line);
  const std::string_view texts[] = {row.user_id, row.session_id, row.url, row.country, row.device};
  const int text_field[] = {2, 3, 7, 8, 9};
  for (int i = 0; i < 5; ++i) {
    if (!views_into(texts[i], line)) fail("a parsed field does not view into its line");
    if (texts[i].data() != fields[text_field[i] - 1].data() ||
        texts[i].size() != fields[text_field[i] - 1].size())
      fail("a parsed field is not the text between its tabs");
  }
  if (row.ts != number_value(fields[0]) || row.campaign_id != number_value(fields[4]) ||
      row.ad_id != number_value(fields[5]) || row.cost_micros != number_value(fields[9]) ||
      spate::event_name(row.event) != fields[3])
    fail("a parsed number or event differs from its text");

  // Printed again, with numbers in plain decimal (leading zeros go), it is the same record.
  const std::string again = std::to_string(row.ts) + '\t' + std::string(row.user_id) + '\t' +
                            std::string(row.session_id) + '\t' +
                            std::string(spate::event_name(row.event)) + '\t' +
                            std::to_string(row.campaign_id) + '\t' + std::to_string(row.ad_id) +
                            '\t' + std::string(row.url) + '\t' + std::string(row.country) + '\t' +
                            std::string(row.device) + '\t' + std::to_string(row.cost_micros);
  spate::ClickView reparsed;
  if (!spate::parse_click(again, reparsed).ok() || !(reparsed == row))
    fail("a valid row printed again does not parse to the same record");
}

// The two tab scanners (SSE2, used on x86-64, and the portable 8-bytes-a-word one) agree.
void check_scanners(std::string_view line) {
  spate::detail::TabScan portable, used;
  spate::detail::scan_tabs_swar(line.data(), line.size(), portable);
  spate::detail::scan_tabs(line.data(), line.size(), used);
  bool same = portable.count == used.count && portable.too_many == used.too_many &&
              (used.too_many || portable.non_ascii == used.non_ascii);
  for (int i = 0; same && i < used.count; ++i) same = portable.tabs[i] == used.tabs[i];
  if (!same) fail("the portable tab scanner and the one parse_click uses disagree");
}

// The input as a block of lines ('\n' added at its end if missing), in a buffer of exactly the
// block and the padding the parser may read.
void check_block(std::string_view text) {
  std::string block(text);
  if (!block.empty() && block.back() != '\n') block += '\n';
  std::vector<char> buf(block.begin(), block.end());
  buf.resize(block.size() + spate::detail::kClickBlockOverread, '\t');
  const char* begin = buf.data();
  const char* end = begin + block.size();

  // What parse_click says of each line: (offset, ok, record).
  struct Seen {
    std::size_t offset;
    bool ok;
    spate::ClickView view;
    bool operator==(const Seen&) const = default;
  };
  std::vector<Seen> want;
  for (std::size_t start = 0; start < block.size();) {
    const std::size_t nl = block.find('\n', start);
    std::size_t size = nl - start;
    if (size > 0 && block[nl - 1] == '\r') --size;
    spate::ClickView v;
    const bool ok = spate::parse_click(std::string_view(begin + start, size), v).ok();
    want.push_back({start, ok, ok ? v : spate::ClickView{}});
    start = nl + 1;
  }
  using spate::detail::ScanIsa;
  for (ScanIsa isa : {ScanIsa::portable, ScanIsa::sse2, ScanIsa::avx2, ScanIsa::avx512}) {
    if (!spate::detail::scan_isa_supported(isa)) continue;
    std::vector<Seen> got;
    const std::size_t lines = spate::detail::parse_click_block(
        isa, begin, end,
        [&](spate::ClickView&& v, const char* at) {
          got.push_back({static_cast<std::size_t>(at - begin), true, v});
        },
        [&](std::string_view, const char* at) {
          got.push_back({static_cast<std::size_t>(at - begin), false, spate::ClickView{}});
        });
    if (lines != want.size() || got != want) fail("parse_click_block disagrees with parse_click");
  }
}

void check_campaign(std::string_view line) {
  spate::Campaign c;
  const bool got = spate::parse_campaign(line, c);
  const auto fields = split_tabs(line);
  const bool want = fields.size() == 3 && is_number(fields[0]) && is_number(fields[2]);
  if (got != want) fail("parse_campaign disagrees with the reference");
  if (!got) return;
  if (!views_into(c.advertiser, line) || c.advertiser.data() != fields[1].data() ||
      c.advertiser.size() != fields[1].size())
    fail("a campaign's advertiser is not the text between its tabs");
  if (c.campaign_id != number_value(fields[0]) || c.budget_micros != number_value(fields[2]))
    fail("a campaign's numbers differ from their text");
}

// Seeds: lines of the generator's click log, malformed ones included (but none of its 10 KB-1 MB
// lines), and of its campaigns table.
std::vector<std::string> real_lines() {
  std::vector<std::string> out;
  spate::ClickGenOptions gen;
  gen.rows = 12;
  gen.seed = 3;
  gen.users = 100;
  gen.bad_rate = 0.5;
  std::string log;
  spate::generate_clicks_to(gen, [&log](std::string_view chunk) { log += chunk; });
  const std::string campaigns = spate::generate_campaigns(3);
  for (const std::string* text : {&std::as_const(log), &campaigns}) {
    std::size_t start = 0, lines = 0;
    while (start < text->size() && lines < 24) {
      std::size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      if (end - start <= 4096) {
        out.push_back(text->substr(start, end - start));
        ++lines;
      }
      start = end + 1;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spate_fuzz::write_seeds_if_asked("line", real_lines());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  check_click(line);
  check_scanners(line);
  check_block(line);
  check_campaign(line);
  return 0;
}
