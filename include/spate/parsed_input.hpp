// ParsedInput: what a typed file reader returns: the rows, and the count of malformed records.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "spate/dataset.hpp"
#include "spate/detail/engine.hpp"

namespace spate {

/// The rows a reader (read_csv, read_json_lines) made of its input, and the count of malformed
/// records its jobs skipped. A cheap handle, like Dataset.
template <class Row>
class ParsedInput {
 public:
  ParsedInput(Dataset<Row> records, std::shared_ptr<detail::Engine> engine, std::string counter)
      : records_(std::move(records)), engine_(std::move(engine)), counter_(std::move(counter)) {}

  /// The rows of the well-formed records, in file order within each partition.
  const Dataset<Row>& records() const noexcept { return records_; }
  /// Malformed records skipped by the jobs that have read this input so far (each job counts
  /// again, as Spark's accumulators do); always 0 in strict mode, where the first one fails.
  std::uint64_t malformed_lines() const { return engine_->counter(counter_); }

 private:
  Dataset<Row> records_;
  std::shared_ptr<detail::Engine> engine_;
  std::string counter_;
};

}  // namespace spate
