// parse_click and parse_campaign: the validity rules of CLICKLOG.md on one line, the hot path of
// every click-log job (one scan for tabs and non-ASCII bytes, then per-field checks).
#include <spate/clicklog.hpp>

#include "clicklog/line_scan.hpp"

#include <cstring>

namespace spate {
namespace {

ClickParse broke(ClickRule rule, int field) noexcept { return ClickParse{rule, field}; }

bool parse_event(const char* p, std::size_t len, Event& out) noexcept {
  if (len == 10) {
    if (std::memcmp(p, "impression", 10) == 0) {
      out = Event::impression;
      return true;
    }
    if (std::memcmp(p, "conversion", 10) == 0) {
      out = Event::conversion;
      return true;
    }
    return false;
  }
  if (len == 5 && std::memcmp(p, "click", 5) == 0) {
    out = Event::click;
    return true;
  }
  return false;
}

// Rules 2 and 3 for numeric field k (its bounds as in parse_click's at[]).
[[gnu::always_inline]] inline ClickParse number_field(std::string_view line, const std::size_t* at,
                                                      int k, std::int64_t& v) noexcept {
  const std::size_t len = at[k] - at[k - 1] - 1;
  if (len == 0) return broke(ClickRule::empty_field, k);
  const char* begin = line.data();
  if (!detail::parse_digits_in_line(begin, begin + line.size(), begin + at[k - 1], len, v)) {
    return broke(ClickRule::bad_number, k);
  }
  return ClickParse{};
}

}  // namespace

ClickParse parse_click(std::string_view line, ClickView& out) noexcept {
  const char* p = line.data();
  const std::size_t n = line.size();
  detail::TabScan s;
  detail::scan_tabs(p, n, s);
  if (s.too_many || s.count != 9) return broke(ClickRule::field_count, 0);

  // Field k (1-based) is p[at[k - 1], at[k] - 1): at[] holds each field's start, then n + 1.
  std::size_t at[kClickFields + 1];
  at[0] = 0;
  for (int k = 1; k < kClickFields; ++k) at[k] = s.tabs[k - 1] + 1;
  at[kClickFields] = n + 1;
  const auto text = [&](int k) { return std::string_view(p + at[k - 1], at[k] - at[k - 1] - 1); };
  const auto number = [&](int k, std::int64_t& v) __attribute__((always_inline)) {
    return number_field(std::string_view(p, n), at, k, v);
  };

  if (auto r = number(1, out.ts); !r.ok()) return r;
  out.user_id = text(2);
  if (out.user_id.empty()) return broke(ClickRule::empty_field, 2);
  out.session_id = text(3);
  if (out.session_id.empty()) return broke(ClickRule::empty_field, 3);
  const std::string_view event = text(4);
  if (event.empty()) return broke(ClickRule::empty_field, 4);
  if (!parse_event(event.data(), event.size(), out.event)) return broke(ClickRule::bad_event, 4);
  if (auto r = number(5, out.campaign_id); !r.ok()) return r;
  if (auto r = number(6, out.ad_id); !r.ok()) return r;
  out.url = text(7);
  if (out.url.empty()) return broke(ClickRule::empty_field, 7);
  out.country = text(8);
  if (out.country.empty()) return broke(ClickRule::empty_field, 8);
  out.device = text(9);
  if (out.device.empty()) return broke(ClickRule::empty_field, 9);
  if (auto r = number(10, out.cost_micros); !r.ok()) return r;

  if (s.non_ascii) {
    const std::size_t bad = detail::first_invalid_utf8(p, n);
    if (bad != n) {
      int field = 1;
      while (field < kClickFields && s.tabs[field - 1] < bad) ++field;
      return broke(ClickRule::invalid_utf8, field);
    }
  }
  return ClickParse{};
}

bool parse_campaign(std::string_view line, Campaign& out) noexcept {
  const std::size_t t1 = line.find('\t');
  if (t1 == std::string_view::npos) return false;
  const std::size_t t2 = line.find('\t', t1 + 1);
  if (t2 == std::string_view::npos || line.find('\t', t2 + 1) != std::string_view::npos) {
    return false;
  }
  if (!detail::parse_digits(line.data(), t1, out.campaign_id)) return false;
  if (!detail::parse_digits(line.data() + t2 + 1, line.size() - t2 - 1, out.budget_micros)) {
    return false;
  }
  out.advertiser = line.substr(t1 + 1, t2 - t1 - 1);
  return true;
}

}  // namespace spate
