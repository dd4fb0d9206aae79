// OutputTarget: where PartOutputSink's parts go, a local directory or an S3 prefix.
// Internal; included as "io/output_target.hpp".
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "spate/detail/part_output_sink.hpp"

namespace spate::detail {

/// The storage behind a PartOutputSink. The driver's target was prepared; a task's target
/// (in an executor) was not, and keeps each committed part's receipt for the driver to accept.
/// Thread-safe.
class OutputTarget {
 public:
  virtual ~OutputTarget() = default;
  /// The output directory or s3:// prefix, as given.
  virtual const std::string& dir() const noexcept = 0;
  /// Starts one attempt's part of partition, to be published as part-NNNNN followed by
  /// `suffix` (".gz", ".zst" or nothing).
  virtual std::unique_ptr<PartOutputSink::Part> open_part(std::size_t partition, int attempt,
                                                          std::string_view suffix) = 0;
  /// What the driver needs to commit the part a task committed here ("" if nothing).
  virtual std::string receipt(std::size_t partition) const = 0;
  /// On the driver: keeps a task's receipt for partition; false if another attempt's was kept.
  virtual bool accept(std::size_t partition, const std::string& receipt) = 0;
  /// Publishes the accepted parts of partitions 0..partitions-1, then the success marker.
  virtual void finish(std::size_t partitions) = 0;
  /// After a failed job: leaves nothing that looks like output.
  virtual void abort() noexcept = 0;
};

/// The target for an s3://bucket/prefix/ output: see s3_output_target.cpp. With prepare, the
/// prefix is checked (no _SUCCESS, nothing but earlier part objects, which are removed) first.
std::unique_ptr<OutputTarget> make_s3_output_target(const std::string& uri, bool prepare);

}  // namespace spate::detail
