// read_click_log: a click log (CLICKLOG.md) as a dataset of valid records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "spate/clicklog.hpp"
#include "spate/context.hpp"
#include "spate/dataset.hpp"

namespace spate {

/// A ClickView is stored (shuffled, cached, collected) as a Click.
template <>
struct record_traits<ClickView> {
  using owned_type = Click;
  static Click to_owned(const ClickView& v) { return Click::from(v); }
};

/// How read_click_log treats malformed lines.
struct ClickLogOptions {
  /// false: skip and count malformed lines; true: fail the job on the first one, with its file,
  /// line number, the rule it broke and the line.
  bool strict = false;
  /// At least this many partitions (default: the context's parallelism).
  std::size_t min_partitions = 0;
};

/// The valid records of a click log, and the count of malformed lines its jobs skipped.
class ClickLog {
 public:
  ClickLog(Dataset<ClickView> records, std::shared_ptr<detail::Engine> engine, std::string counter)
      : records_(std::move(records)), engine_(std::move(engine)), counter_(std::move(counter)) {}

  /// The valid records. Each is a view into its line: map it to what the job needs (or to Click).
  const Dataset<ClickView>& records() const noexcept { return records_; }
  /// Malformed lines skipped by the jobs that have read this log so far (each read counts: a
  /// log read by two jobs counts its bad lines twice, as Spark's accumulators do).
  std::uint64_t malformed_lines() const { return engine_->counter(counter_); }

 private:
  Dataset<ClickView> records_;
  std::shared_ptr<detail::Engine> engine_;
  std::string counter_;
};

/// Reads a click log: a file, a directory or a glob, each file plain, .gz or .zst, whose first
/// line is a header (skipped, not counted). Throws io_error when nothing is readable.
ClickLog read_click_log(const Context& ctx, const std::string& path, ClickLogOptions options = {});

}  // namespace spate
