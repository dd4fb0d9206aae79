// The cold parts of the click-log API: names, rule descriptions, owned records and the output
// number formatting every click-log job shares.
#include <spate/clicklog.hpp>

#include <array>
#include <cstdio>

namespace spate {
namespace {

constexpr std::array<std::string_view, kClickFields> kFieldNames = {
    "ts",    "user_id", "session_id", "event",  "campaign_id",
    "ad_id", "url",     "country",    "device", "cost_micros"};

constexpr std::array<std::string_view, 5> kJobNames = {"ctr", "uniques", "join", "sessions",
                                                       "wordcount"};

std::string printf_fixed6(double value) {
  char small[64];
  const int len = std::snprintf(small, sizeof small, "%.6f", value);
  if (len >= 0 && static_cast<std::size_t>(len) < sizeof small) return std::string(small, len);
  std::string big(static_cast<std::size_t>(len) + 1, '\0');  // huge magnitudes: up to ~320 chars
  std::snprintf(big.data(), big.size(), "%.6f", value);
  big.resize(static_cast<std::size_t>(len));
  return big;
}

}  // namespace

std::string_view event_name(Event e) noexcept {
  switch (e) {
    case Event::impression:
      return "impression";
    case Event::click:
      return "click";
    case Event::conversion:
      return "conversion";
  }
  return "?";
}

Click Click::from(const ClickView& v) {
  return Click{v.ts,
               std::string(v.user_id),
               std::string(v.session_id),
               v.event,
               v.campaign_id,
               v.ad_id,
               std::string(v.url),
               std::string(v.country),
               std::string(v.device),
               v.cost_micros};
}

ClickView Click::view() const noexcept {
  return ClickView{ts,    user_id, session_id, event,  campaign_id,
                   ad_id, url,     country,    device, cost_micros};
}

std::string_view describe(ClickRule rule) noexcept {
  switch (rule) {
    case ClickRule::ok:
      return "valid record";
    case ClickRule::field_count:
      return "expected 10 tab-separated fields";
    case ClickRule::empty_field:
      return "empty field";
    case ClickRule::bad_number:
      return "not 1-18 ASCII digits";
    case ClickRule::bad_event:
      return "event is not impression, click or conversion";
    case ClickRule::invalid_utf8:
      return "not valid UTF-8";
  }
  return "unknown rule";
}

std::string_view click_field_name(int field) noexcept {
  if (field < 1 || field > kClickFields) return "?";
  return kFieldNames[static_cast<std::size_t>(field - 1)];
}

std::string describe(const ClickParse& result) {
  const std::string field = "field " + std::to_string(result.field) + " (" +
                            std::string(click_field_name(result.field)) + ")";
  switch (result.rule) {
    case ClickRule::ok:
    case ClickRule::field_count:
      return std::string(describe(result.rule));
    case ClickRule::empty_field:
      return field + " is empty";
    case ClickRule::bad_number:
      return field + " is not 1-18 ASCII digits";
    case ClickRule::bad_event:
      return field + " is not impression, click or conversion";
    case ClickRule::invalid_utf8:
      return field + " is not valid UTF-8";
  }
  return std::string(describe(result.rule));
}

std::optional<ClickJob> click_job_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kJobNames.size(); ++i) {
    if (kJobNames[i] == name) return static_cast<ClickJob>(i);
  }
  return std::nullopt;
}

std::string_view click_job_name(ClickJob job) noexcept {
  return kJobNames[static_cast<std::size_t>(job)];
}

std::string_view click_job_header(ClickJob job) noexcept {
  switch (job) {
    case ClickJob::ctr:
      return "campaign_id\timpressions\tclicks\tconversions\tctr";
    case ClickJob::uniques:
      return "country\tusers";
    case ClickJob::join:
      return "advertiser\tspend_micros\tbudget_micros\tspend_ratio";
    case ClickJob::sessions:
      return "users\tsessions\tmean_events\tmean_duration_s";
    case ClickJob::wordcount:
      return "url\tcount";
  }
  return "";
}

std::string format_fixed6(double value) { return printf_fixed6(value); }

std::string format_ratio(std::int64_t num, std::int64_t den) {
  if (den == 0) return "NA";
  return printf_fixed6(static_cast<double>(num) / static_cast<double>(den));
}

std::string format_ms_as_seconds(std::int64_t total_ms, std::int64_t count) {
  if (count == 0) return "NA";
  return printf_fixed6(static_cast<double>(total_ms) / static_cast<double>(count) / 1000.0);
}

}  // namespace spate
