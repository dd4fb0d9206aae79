// Click-log records (docs: CLICKLOG.md): the line parser with its five validity rules, the
// campaigns dimension parser, and the output helpers every click-log job prints with.
#pragma once

#include <spate/error.hpp>
#include <spate/serialization.hpp>

#include <boost/serialization/string.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spate {

/// The event column: exactly `impression`, `click` or `conversion` in the log.
enum class Event : std::uint8_t { impression, click, conversion };

/// The log spelling of an event ("impression", "click", "conversion").
std::string_view event_name(Event e) noexcept;

/// One valid click-log line, as views into that line: valid only while the line's bytes are.
/// Fields are in log order; the numbers are the decoded 1-18 digit columns.
struct ClickView {
  std::int64_t ts = 0;  ///< epoch milliseconds
  std::string_view user_id;
  std::string_view session_id;
  Event event = Event::impression;
  std::int64_t campaign_id = 0;
  std::int64_t ad_id = 0;
  std::string_view url;
  std::string_view country;
  std::string_view device;
  std::int64_t cost_micros = 0;

  friend bool operator==(const ClickView&, const ClickView&) = default;
};

/// The owning equivalent of ClickView: a self-contained record that can be stored and shipped.
struct Click {
  std::int64_t ts = 0;  ///< epoch milliseconds
  std::string user_id;
  std::string session_id;
  Event event = Event::impression;
  std::int64_t campaign_id = 0;
  std::int64_t ad_id = 0;
  std::string url;
  std::string country;
  std::string device;
  std::int64_t cost_micros = 0;

  /// Copies every field of `v` (allocates the strings).
  static Click from(const ClickView& v);

  /// Views into this record's strings: valid while this Click lives and is not modified.
  ClickView view() const noexcept;

  /// Boost.Serialization-style member: one body both saves and loads (`ar & field`).
  /// Throws serialization_error when a loaded event code is out of range.
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    // The event goes through a byte so that archives without enum support work too.
    auto code = static_cast<std::uint8_t>(event);
    // clang-format off
    ar & ts & user_id & session_id & code & campaign_id & ad_id & url & country & device &
        cost_micros;
    // clang-format on
    if (code > static_cast<std::uint8_t>(Event::conversion)) {
      throw serialization_error("Click: event code " + std::to_string(code) + " is out of range");
    }
    event = static_cast<Event>(code);
  }

  friend bool operator==(const Click&, const Click&) = default;
};

/// Same as Click::from(v).
inline Click to_owned(const ClickView& v) { return Click::from(v); }

/// How spate stores and ships a Click (every ClickView that is shuffled, cached or collected):
/// its fields in order, with spate's own encoding rather than a Boost archive. Faster, and safe
/// on corrupt bytes: a Boost archive trusts the string lengths inside it, so 23 bytes could make
/// the reader allocate and zero gigabytes before it failed.
template <>
struct Serializer<Click> {
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 5 * 8 + 1 + 5 * 1;  // numbers, event, empty strings

  static void write(Writer& w, const Click& c) {
    serialize_to(w, c.ts);
    serialize_to(w, c.user_id);
    serialize_to(w, c.session_id);
    serialize_to(w, static_cast<std::uint8_t>(c.event));
    serialize_to(w, c.campaign_id);
    serialize_to(w, c.ad_id);
    serialize_to(w, c.url);
    serialize_to(w, c.country);
    serialize_to(w, c.device);
    serialize_to(w, c.cost_micros);
  }
  static Click read(Reader& r) {
    Click c;
    c.ts = deserialize_from<std::int64_t>(r);
    c.user_id = deserialize_from<std::string>(r);
    c.session_id = deserialize_from<std::string>(r);
    const auto code = deserialize_from<std::uint8_t>(r);
    if (code > static_cast<std::uint8_t>(Event::conversion)) {
      detail::throw_corrupt("Click event code out of range", r.offset() - 1);
    }
    c.event = static_cast<Event>(code);
    c.campaign_id = deserialize_from<std::int64_t>(r);
    c.ad_id = deserialize_from<std::int64_t>(r);
    c.url = deserialize_from<std::string>(r);
    c.country = deserialize_from<std::string>(r);
    c.device = deserialize_from<std::string>(r);
    c.cost_micros = deserialize_from<std::int64_t>(r);
    return c;
  }
};

/// The validity rule of CLICKLOG.md that a line broke (ok: it is a valid record).
enum class ClickRule : std::uint8_t {
  ok,
  field_count,   ///< rule 1: not exactly 10 tab-separated fields
  empty_field,   ///< rule 2: a field is empty
  bad_number,    ///< rule 3: ts/campaign_id/ad_id/cost_micros is not 1-18 ASCII digits
  bad_event,     ///< rule 4: event is not impression, click or conversion
  invalid_utf8,  ///< rule 5: the line is not valid UTF-8
};

/// The reason a rule gives, e.g. "expected 10 tab-separated fields" ("valid record" for ok).
std::string_view describe(ClickRule rule) noexcept;

/// The outcome of parse_click: the first broken rule and the 1-based field it concerns.
struct ClickParse {
  ClickRule rule = ClickRule::ok;
  /// 1..10 for empty_field, bad_number, bad_event and invalid_utf8 (the field holding the
  /// first invalid byte); 0 for ok and field_count.
  int field = 0;

  /// True iff the line is a valid record.
  bool ok() const noexcept { return rule == ClickRule::ok; }
  friend bool operator==(const ClickParse&, const ClickParse&) = default;
};

/// The number of fields in a click-log line.
inline constexpr int kClickFields = 10;

/// The column name of a 1-based field ("ts", "user_id", ...); "?" outside 1..10.
std::string_view click_field_name(int field) noexcept;

/// A full sentence for strict-mode errors, e.g. "field 1 (ts) is not 1-18 ASCII digits".
std::string describe(const ClickParse& result);

/// Checks `line` (without its `\n` and the `\r` before it) against rules 1-5 of CLICKLOG.md
/// and, when valid, fills `out` with views into `line`. On failure `out` is unspecified.
/// When a line breaks several rules the first is reported: the field count, then each field in
/// order (empty, then number or event), then UTF-8. No allocation; safe on any bytes.
ClickParse parse_click(std::string_view line, ClickView& out) noexcept;

/// One row of campaigns.tsv; `advertiser` views into the line.
struct Campaign {
  std::int64_t campaign_id = 0;
  std::string_view advertiser;
  std::int64_t budget_micros = 0;

  friend bool operator==(const Campaign&, const Campaign&) = default;
};

/// Parses `campaign_id \t advertiser \t budget_micros` (line end already removed): true iff
/// there are exactly 3 fields and both numbers are 1-18 ASCII digits (the advertiser may be
/// any bytes without a tab, even empty). The header line fails and is thereby skipped.
bool parse_campaign(std::string_view line, Campaign& out) noexcept;

/// The reference jobs J1-J5 of CLICKLOG.md.
enum class ClickJob : std::uint8_t { ctr, uniques, join, sessions, wordcount };

/// The job named `name` ("ctr", "uniques", "join", "sessions", "wordcount"), or nullopt.
std::optional<ClickJob> click_job_from_name(std::string_view name) noexcept;

/// The command-line name of a job.
std::string_view click_job_name(ClickJob job) noexcept;

/// The header line of a job's output, without the trailing `\n`.
std::string_view click_job_header(ClickJob job) noexcept;

/// J4: a record starts a new session when more than this many ms passed since the previous one.
inline constexpr std::int64_t kSessionGapMs = 1'800'000;

/// J5: how many urls the wordcount job prints.
inline constexpr std::size_t kWordcountTop = 100;

/// `%.6f` (C printf) of `value`.
std::string format_fixed6(double value);

/// `%.6f` of (double)num / (double)den, or "NA" when den == 0 (J1 ctr, J3 spend_ratio,
/// J4 mean_events).
std::string format_ratio(std::int64_t num, std::int64_t den);

/// `%.6f` of (double)total_ms / (double)count / 1000.0, or "NA" when count == 0
/// (J4 mean_duration_s).
std::string format_ms_as_seconds(std::int64_t total_ms, std::int64_t count);

}  // namespace spate
