// read_csv: CSV files (RFC 4180) as a dataset of typed rows, split like text_file.
//
//   struct Sale { std::int64_t id; std::string item; std::optional<double> price; };
//   auto sales = spate::read_csv<Sale>(ctx, "sales/*.csv.gz", {.header = true},
//                                      spate::csv_column(&Sale::id, "id"),
//                                      spate::csv_column(&Sale::item, 2),
//                                      spate::csv_column(&Sale::price, "price"));
//   sales.records().count(); sales.malformed_lines();
//
// Fields: a field in quotes may hold separators, line breaks and "" (one quote); an unquoted
// field may not hold a quote. Records end at '\n' or "\r\n" outside quotes; blank lines are
// skipped. Member types: std::int8_t..std::int64_t, std::uint8_t..std::uint64_t (decimal, an
// optional sign, nothing else), float and double (std::from_chars, an optional '+'), bool
// (true/false in any case, 1/0), std::string (as it is), std::string_view (a view valid while the
// row is processed, as text_file's lines: no copy, but map the row to an owning type before it
// is stored, shuffled or collected), and std::optional of any of these, which
// is empty for an empty field (DuckDB's rule: an unquoted empty field is NULL, a quoted "" is an
// empty string for std::optional<std::string>). An empty field for a non-optional number or bool
// is malformed; for a std::string it is "".
// A record is malformed when its quoting is broken (a quote inside an unquoted field, text after a
// closing quote, a quote never closed), it is not valid UTF-8, it is longer than
// max_record_bytes, it has fewer fields than a bound column needs (with a header: any other
// number of fields than the first file's header), or a bound field does not convert. Malformed records are
// skipped and counted, or with `strict` fail the job naming file, line, column and reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spate/context.hpp"
#include "spate/detail/csv_node.hpp"
#include "spate/parsed_input.hpp"

namespace spate {

/// How read_csv reads its files.
struct CsvOptions {
  /// The field separator (',' ; '\t', ';' and '|' are common).
  char separator = ',';
  /// The quote character; inside quotes it is written twice.
  char quote = '"';
  /// The first record of each file is a header: skipped, and the names columns bind to.
  bool header = false;
  /// Quoted fields may hold line breaks (RFC 4180). Planning then reads each plain file that
  /// is split in several parts once, counting quotes to know whether each part starts inside
  /// quotes. false skips that pass, and a quote left open at a line's end is malformed.
  bool multiline = true;
  /// false: skip and count malformed records; true: fail the job on the first one.
  bool strict = false;
  /// At least this many partitions (default: the context's parallelism).
  std::size_t min_partitions = 0;
  /// A longer record is malformed (and its bytes are not held in memory).
  std::uint64_t max_record_bytes = 64ull << 20;
};

/// Binds member `member` of Row to a column, by 0-based index or by header name.
template <class Row, class M>
struct CsvColumn {
  M Row::*member;
  std::size_t index = 0;
  std::string name;  ///< when not empty, the header name to find the index by
};

/// The column at 0-based `index` fills `member`.
template <class Row, class M>
CsvColumn<Row, M> csv_column(M Row::*member, std::size_t index) {
  return {member, index, {}};
}

/// The column named `name` in the header (CsvOptions::header must be set) fills `member`.
template <class Row, class M>
CsvColumn<Row, M> csv_column(M Row::*member, std::string name) {
  return {member, 0, std::move(name)};
}

/// Reads CSV files (a file, a directory or a glob; plain, .gz or .zst) into rows of type Row
/// (default-constructible; serializable to be shuffled, cached or collected), one row per
/// well-formed record. Plain files are split into byte ranges like text_file; a record belongs to
/// the range where it starts. Throws io_error when nothing is readable, config_error for a bad
/// option or an unknown column name.
template <class Row, class... M>
ParsedInput<Row> read_csv(const Context& ctx, const std::string& path, const CsvOptions& options,
                          CsvColumn<Row, M>... columns) {
  static_assert(sizeof...(M) > 0, "read_csv needs at least one column binding");
  using Binder = detail::MemberBinder<Row, M...>;
  auto engine = ctx.engine();
  const std::uint64_t id = engine->next_node_id();
  detail::BadRecordPolicy policy{options.strict, "read_csv/" + std::to_string(id) + "/malformed_lines"};
  auto source = detail::CsvSource::plan(
      path,
      detail::CsvFormat{options.separator, options.quote, options.header, options.multiline,
                        options.max_record_bytes},
      options.min_partitions ? options.min_partitions : ctx.default_parallelism(),
      std::vector<std::size_t>{columns.index...}, std::vector<std::string>{columns.name...});
  auto node = std::make_shared<detail::CsvNode<Row, Binder>>(id, std::move(source), Binder(columns.member...),
                                                             policy);
  return ParsedInput<Row>(Dataset<Row>(detail::DatasetCore<Row, void>{engine, node}), engine, policy.counter);
}

/// A column of read_csv_tuple: a 0-based index, or a header name.
struct CsvColumnRef {
  CsvColumnRef(std::size_t i) : index(i) {}                  // NOLINT: implicit, for {0, 3, "price"}
  CsvColumnRef(int i) : index(static_cast<std::size_t>(i)) {}  // NOLINT
  CsvColumnRef(std::string n) : name(std::move(n)) {}        // NOLINT
  CsvColumnRef(const char* n) : name(n) {}                   // NOLINT
  std::size_t index = 0;
  std::string name;
};

/// As read_csv, into std::tuple<T...>: element i from columns[i], or from column i when columns
/// is empty.
template <class... T>
ParsedInput<std::tuple<T...>> read_csv_tuple(const Context& ctx, const std::string& path,
                                             const CsvOptions& options, std::vector<CsvColumnRef> columns = {}) {
  using Row = std::tuple<T...>;
  using Binder = detail::TupleBinder<T...>;
  if (columns.empty())
    for (std::size_t i = 0; i < sizeof...(T); ++i) columns.emplace_back(i);
  if (columns.size() != sizeof...(T))
    throw config_error("read_csv_tuple: give one column per tuple element, or none");
  std::vector<std::size_t> indexes;
  std::vector<std::string> names;
  for (auto& c : columns) {
    indexes.push_back(c.index);
    names.push_back(std::move(c.name));
  }
  auto engine = ctx.engine();
  const std::uint64_t id = engine->next_node_id();
  detail::BadRecordPolicy policy{options.strict, "read_csv/" + std::to_string(id) + "/malformed_lines"};
  auto source = detail::CsvSource::plan(
      path,
      detail::CsvFormat{options.separator, options.quote, options.header, options.multiline,
                        options.max_record_bytes},
      options.min_partitions ? options.min_partitions : ctx.default_parallelism(), std::move(indexes), names);
  auto node = std::make_shared<detail::CsvNode<Row, Binder>>(id, std::move(source), Binder{}, policy);
  return ParsedInput<Row>(Dataset<Row>(detail::DatasetCore<Row, void>{engine, node}), engine, policy.counter);
}

}  // namespace spate
