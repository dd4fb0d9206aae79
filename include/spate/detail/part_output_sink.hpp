// PartOutputSink: the typed output handlers' (save_as_text_file, checkpoint) bridge to part files
// committed once per partition, in a local directory or under an s3:// prefix. Compiled once in
// lib/io/part_output_sink.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "spate/text_output_options.hpp"

namespace spate::detail {

/// An output directory being written: parts go to temporary files and are committed by rename,
/// once per partition; `_SUCCESS` marks a complete output. For an `s3://bucket/prefix/` output,
/// each part is a multipart upload that the task leaves open and hands to the driver (receipt()
/// then accept()); finish() completes one upload per partition, then writes `_SUCCESS`.
/// Thread-safe.
class PartOutputSink {
 public:
  /// One part file being written by one task attempt; abandoned (removed) unless committed.
  class Part {
   public:
    virtual ~Part() = default;
    /// Appends `line` and a '\n'.
    virtual void write_line(std::string_view line) = 0;
    /// Appends `bytes` as they are.
    virtual void write(std::string_view bytes) = 0;
    /// Makes the part visible under its final name (first commit of a partition wins); for S3,
    /// finishes uploading it and keeps its receipt for the driver, which publishes it.
    virtual void commit() = 0;
  };

  /// On the driver (`prepare`), creates `dir`, or clears what an earlier job that did not finish
  /// left there (part files and `_temporary`, no `_SUCCESS`), and holds it until finish() or
  /// abort(); throws io_error if `dir` holds a complete output or anything else, or another
  /// running job writes it. In a task's process, writes into the directory the driver prepared.
  explicit PartOutputSink(const std::string& dir, bool prepare = true);
  /// The output directory.
  const std::string& dir() const noexcept;
  ~PartOutputSink();
  /// Starts the part of `partition` for one attempt.
  std::unique_ptr<Part> open_part(std::size_t partition, int attempt);
  /// Starts the part of `partition` for one attempt, compressed as `options` say: its bytes go
  /// through one gzip or zstd stream into part-NNNNN.gz or .zst.
  std::unique_ptr<Part> open_part(std::size_t partition, int attempt,
                                  const TextOutputOptions& options);
  /// What the driver needs to publish the part committed here for partition ("" for a local
  /// directory, where commit() published it); a task sends it back as its result.
  std::string receipt(std::size_t partition) const;
  /// On the driver: keeps the receipt of a task's committed part. The first attempt of a
  /// partition wins; a later one's upload is abandoned and false returned.
  bool accept(std::size_t partition, const std::string& receipt);
  /// Writes the success marker once every part of partitions 0..partitions-1 is committed (for
  /// S3, completes the accepted uploads first, in partition order; a partition whose receipt
  /// never arrived is an io_error, and nothing is published).
  void finish(std::size_t partitions);
  /// After a failed job, removes temporary files, committed parts and any success marker, so
  /// that nothing in `dir` looks like output.
  void abort() noexcept;
  /// The name of a partition's file in the directory: "part-" and at least 5 digits.
  static std::string part_name(std::size_t partition);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::detail
