// The deterministic click-log generator of CLICKLOG.md: a skewed clicks.tsv (optionally with
// malformed lines between the valid rows) and its campaigns.tsv dimension table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace spate {

/// What to generate. The same options always give the same bytes, on any platform.
struct ClickGenOptions {
  std::int64_t rows = 0;           ///< valid rows to write (>= 0), after the header line
  std::uint64_t seed = 0;          ///< selects the whole data set
  std::int64_t users = 1'000'000;  ///< distinct user ids to draw from (>= 1)
  /// Chance in [0, 1] of a malformed line just before each valid row; drawn from a separate
  /// random stream, so the valid rows are the same for every bad_rate.
  double bad_rate = 0.0;
  std::string out;            ///< the click log's path
  std::string campaigns_out;  ///< the dimension table's path; empty: campaigns.tsv beside out
};

/// What a generation run wrote.
struct ClickGenSummary {
  std::int64_t rows = 0;             ///< valid rows
  std::int64_t malformed_lines = 0;  ///< malformed lines inserted between them
  std::uint64_t bytes = 0;           ///< size of the click log, header included
  std::int64_t campaigns = 0;        ///< data rows of the campaigns table
  std::string out;                   ///< where the click log went (empty for the sink variant)
  std::string campaigns_out;         ///< where the campaigns table went (likewise)
};

/// The path `campaigns.tsv` in the directory that holds `out`.
std::string default_campaigns_path(const std::string& out);

/// Writes the click log to options.out and the campaigns table to options.campaigns_out (or its
/// default). Throws config_error for out-of-range options or clashing paths, io_error when a
/// file cannot be written (the message names the path).
ClickGenSummary generate_clicks(const ClickGenOptions& options);

/// Generates the click log (header first) into `sink`, in chunks of a few MB, ignoring the
/// paths in `options`; the bytes equal the file generate_clicks writes. Throws config_error.
ClickGenSummary generate_clicks_to(const ClickGenOptions& options,
                                   const std::function<void(std::string_view)>& sink);

/// The campaigns table for `seed` (header first): ids 1..1010 without about 1% of 1..1000.
/// It depends on the seed only, not on rows, users or bad_rate.
std::string generate_campaigns(std::uint64_t seed);

}  // namespace spate
