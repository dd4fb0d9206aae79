// The compiled half of read_csv: planned splits with their quote state, and the scan that cuts a
// split into records and fields. The templates in csv_node.hpp turn fields into user rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spate/detail/parsed_source.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// The dialect and the bindings' columns, as read_csv's options and columns give them.
struct CsvFormat {
  char separator = ',';
  char quote = '"';
  bool header = false;
  /// Quoted fields may hold line breaks (splits then need a planning pass over plain files).
  bool multiline = true;
  /// A record longer than this is malformed (its bytes are skipped, not held).
  std::uint64_t max_record_bytes = 64ull << 20;
};

/// The fields of one record, valid while the row is built from it.
class CsvRecord {
 public:
  std::size_t size() const noexcept { return size_; }
  std::string_view operator[](std::size_t i) const noexcept { return fields_[i]; }
  /// True when the field was written in quotes ("" is then an empty string, not a missing value).
  bool quoted(std::size_t i) const noexcept { return quoted_[i] != 0; }
  /// The field binding i reads (the record has at least that many fields).
  std::string_view bound(std::size_t i) const noexcept { return fields_[columns_[i]]; }
  bool bound_quoted(std::size_t i) const noexcept { return quoted_[columns_[i]] != 0; }

  // Filled by the tokenizer: the first size_ entries are the record's; the vectors only grow.
  std::vector<std::string_view> fields_;
  std::vector<unsigned char> quoted_;
  std::size_t size_ = 0;
  /// At least 8 readable bytes follow every field (they lie in a padded block): numbers may be
  /// read a word at a time.
  bool padded_ = false;
  /// The column of each binding (CsvSource::columns()), set by the scan: no call per field.
  const std::size_t* columns_ = nullptr;
};

/// Fills a row from a record; `row_sink` is the template side's object.
using CsvRowSink = RowProblem (*)(void* row_sink, const CsvRecord& record);

/// Planned input of read_csv: its splits, the quote state at each, the format, and for each
/// binding the column it reads (names already resolved against the first file's header).
class CsvSource {
 public:
  struct Impl;
  explicit CsvSource(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  /// Lists the files of `path`, plans splits as text_file does (at least min_partitions), finds
  /// the quote state at every split's first line when records may span lines, and resolves each
  /// binding (a column number, or a header name when `names[i]` is not empty). Throws io_error
  /// when nothing is readable, config_error for a name not in the header.
  static CsvSource plan(const std::string& path, const CsvFormat& format, std::size_t min_partitions,
                        std::vector<std::size_t> columns, const std::vector<std::string>& names);

  std::size_t partitions() const noexcept;
  /// The column each binding reads.
  const std::vector<std::size_t>& columns() const noexcept;

  /// Scans partition p: every record that starts in its split, in file order, is handed to
  /// `sink`; malformed records (broken quoting, invalid UTF-8, too few fields, a field sink
  /// refuses) are counted or, in strict mode, fail the task.
  void scan(TaskContext& tc, std::size_t p, const BadRecordPolicy& policy, CsvRowSink sink,
            void* row_sink) const;

  void save(Writer& w) const;
  static CsvSource load(Reader& r);

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace spate::detail
