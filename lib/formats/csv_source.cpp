// read_csv's compiled half: planning (splits, quote states, header names) and the per-split scan
// that cuts records by quote parity, so that every split agrees on where records start.
#include "spate/detail/csv_source.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "formats/bad_record.hpp"
#include "formats/csv_tokenizer.hpp"
#include "formats/quote_count.hpp"
#include "formats/split_quote_state.hpp"
#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "io/split_codec.hpp"
#include "spate/error.hpp"

namespace spate::detail {

struct CsvSource::Impl {
  std::vector<InputSplit> splits;
  std::vector<bool> starts_in_quotes;  // per split: its first line continues a quoted field
  CsvFormat format;
  std::vector<std::size_t> columns;  // per binding
  std::vector<std::string> labels;   // per binding, for messages: "'name' (column 3)"
  std::vector<std::string> header;   // the first file's header, with CsvFormat::header
  bool check_headers = false;        // columns were bound by name: every file's header must match
};

namespace {

/// Bytes read from the file per block, so that a block is parsed while still in cache.
constexpr std::size_t kReadBytes = 256 << 10;

/// A record's bytes without a '\r' that ends its line.
std::string_view without_cr(const char* begin, const char* end) {
  if (end > begin && end[-1] == '\r') --end;
  return {begin, static_cast<std::size_t>(end - begin)};
}

/// The fields of a file's first record, or none for an empty file.
std::vector<std::string> first_record(const InputFile& file, const CsvFormat& format) {
  InputSplit whole{file.path, 0, file.size, file.compression, file.size, file.mtime_ns};
  LineReader reader(whole);
  LineBlock block;
  std::string bytes;
  bool in_quotes = false;
  while (reader.next_block(block, kReadBytes)) {
    const char* nl = format.multiline ? find_record_end(block.begin, block.end, format.quote, in_quotes)
                                      : static_cast<const char*>(std::memchr(block.begin, '\n', block.end - block.begin));
    bytes.append(static_cast<const char*>(block.begin), nl != nullptr ? nl : block.end);
    if (nl != nullptr) break;
    if (bytes.size() > format.max_record_bytes)
      throw io_error(fmt::format("the header of '{}' is longer than max_record_bytes ({})", file.path,
                                 format.max_record_bytes));
  }
  if (bytes.empty()) return {};
  std::string_view header = without_cr(bytes.data(), bytes.data() + bytes.size());
  CsvTokenizer tokenizer(format.separator, format.quote);
  CsvRecord record;
  if (const char* problem = tokenizer.split(header.data(), header.data() + header.size(), record))
    throw input_error(fmt::format("{}:1: malformed CSV header: {}: \"{}\"", file.path, problem, shown_text(header)));
  return {record.fields_.begin(), record.fields_.begin() + static_cast<std::ptrdiff_t>(record.size())};
}

/// Reads one split's records; one per task.
class CsvSplitScan {
 public:
  CsvSplitScan(const CsvSource::Impl& source, std::size_t p, TaskContext& tc,
               const BadRecordPolicy& policy, CsvRowSink sink, void* row_sink)
      : src_(source),
        split_(source.splits[p]),
        starts_in_quotes_(source.starts_in_quotes[p]),
        tc_(tc),
        policy_(policy),
        sink_(sink),
        row_sink_(row_sink),
        tokenizer_(source.format.separator, source.format.quote),
        min_fields_(source.columns.empty() ? 0 : *std::max_element(source.columns.begin(), source.columns.end()) + 1) {
    fields_.columns_ = source.columns.data();
  }

  void run() {
    // The split's last record may run past its end: read on, and stop at the first record that
    // starts at or after the end (a compressed file is one split that ends with the file).
    InputSplit extended = split_;
    if (split_.compression == Compression::none) extended.end = split_.file_size;
    const std::uint64_t end = split_.compression == Compression::none ? split_.end : UINT64_MAX;
    LineReader reader(extended);
    LineBlock block;
    const CsvFormat& f = src_.format;
    bool skipping = starts_in_quotes_;  // inside a record that started in an earlier split
    bool in_quotes = skipping;
    while (reader.next_block(block, kReadBytes)) {
      block_valid_utf8_ = simdjson::validate_utf8(block.begin, static_cast<std::size_t>(block.end - block.begin));
      const char* p = block.begin;
      const char* stop = block.end;
      auto offset_of = [&](const char* at) { return block.offset + static_cast<std::uint64_t>(at - block.begin); };
      if (skipping) {
        const char* nl = find_record_end(p, stop, f.quote, in_quotes);
        if (nl == nullptr) {
          if (offset_of(stop) >= end) break;  // no record starts in this split
          continue;
        }
        p = nl + 1;
        skipping = false;
      } else if (partial_) {
        const char* nl = f.multiline ? find_record_end(p, stop, f.quote, in_quotes) : nullptr;
        append_partial(p, nl != nullptr ? nl : stop);
        if (nl == nullptr) continue;
        p = nl + 1;
        partial_ = false;
        finish_partial();
      }
      while (p < stop) {
        const std::uint64_t at = offset_of(p);
        if (at >= end) return done();
        in_quotes = false;
        // Most records hold no quote: one vector pass finds their end and their fields.
        if (const char* nl = tokenizer_.split_plain_line(p, f.max_record_bytes + 1, fields_)) {
          record(without_cr(p, nl), at, block_valid_utf8_, /*padded=*/true, /*split=*/true);
          p = nl + 1;
          continue;
        }
        const char* nl = f.multiline ? find_record_end(p, stop, f.quote, in_quotes)
                                     : static_cast<const char*>(std::memchr(p, '\n', stop - p));
        if (nl == nullptr) {
          // A quoted field goes on into the next block: keep the bytes (up to the limit).
          partial_ = true;
          partial_offset_ = at;
          partial_too_long_ = false;
          carry_.clear();
          append_partial(p, stop);
          break;
        }
        record(without_cr(p, nl), at, block_valid_utf8_, /*padded=*/true);
        p = nl + 1;
      }
    }
    if (partial_) {
      partial_ = false;
      finish_partial();  // the file ended inside quotes: the tokenizer says so
    }
    done();
  }

 private:
  void append_partial(const char* from, const char* to) {
    if (partial_too_long_) return;
    // One byte more than the limit: the record's '\r' before its '\n' is not counted.
    if (carry_.size() + static_cast<std::size_t>(to - from) > src_.format.max_record_bytes + 1) {
      partial_too_long_ = true;
      std::string().swap(carry_);
      return;
    }
    carry_.append(from, to);
  }

  void finish_partial() {
    if (partial_too_long_) {
      bad(partial_offset_, fmt::format("the record is longer than max_record_bytes ({})", src_.format.max_record_bytes), {});
      return;
    }
    record(without_cr(carry_.data(), carry_.data() + carry_.size()), partial_offset_, false, false);
  }

  /// padded: bytes lie in a LineReader block, whose padding lets the tokenizer read past them.
  /// split: fields_ already holds the record's fields (split_plain_line cut them).
  void record(std::string_view bytes, std::uint64_t offset, bool known_valid_utf8, bool padded, bool split = false) {
    if (records_++ % kRecordsBetweenChecks == 0) tc_.check_killed();
    if (bytes.empty()) return;  // blank lines are no records, as in Spark and DuckDB
    if (bytes.size() > src_.format.max_record_bytes)
      return bad(offset, fmt::format("the record is longer than max_record_bytes ({})", src_.format.max_record_bytes), {});
    if (offset == 0 && src_.format.header) return check_header(bytes);
    if (!known_valid_utf8 && !simdjson::validate_utf8(bytes.data(), bytes.size()))
      return bad(offset, "invalid UTF-8", bytes);
    if (!split) {
      if (const char* problem = tokenizer_.split(bytes.data(), bytes.data() + bytes.size(), fields_, padded))
        return bad(offset, problem, bytes);
    }
    if (!src_.header.empty() && fields_.size() != src_.header.size())
      return bad(offset, fmt::format("{} fields where the header has {}", fields_.size(), src_.header.size()), bytes);
    if (fields_.size() < min_fields_)
      return bad(offset, fmt::format("{} fields where column {} is read", fields_.size(), min_fields_ - 1), bytes);
    RowProblem problem = sink_(row_sink_, fields_);
    if (problem) {
      std::string reason = problem.field < src_.labels.size()
                               ? fmt::format("column {}: {}", src_.labels[problem.field], problem.what)
                               : std::string(problem.what);
      if (problem.field < src_.columns.size())
        reason += fmt::format(" (field \"{}\")", shown_text(fields_[src_.columns[problem.field]].substr(0, 100)));
      return bad(offset, reason, bytes);
    }
  }

  void check_header(std::string_view bytes) {
    if (!src_.check_headers) return;
    CsvRecord header;
    const char* problem = tokenizer_.split(bytes.data(), bytes.data() + bytes.size(), header);
    if (problem != nullptr || !std::equal(header.fields_.begin(), header.fields_.begin() + static_cast<std::ptrdiff_t>(header.size()),
                                          src_.header.begin(), src_.header.end()))
      throw input_error(fmt::format("{}:1: its CSV header \"{}\" is not the first file's (\"{}\"), whose names the columns "
                                    "were bound by", split_.path, shown_text(bytes), fmt::join(src_.header, "\",\"")));
  }

  void bad(std::uint64_t offset, std::string_view reason, std::string_view bytes) {
    if (policy_.strict) throw_bad_record(split_, offset, "CSV", reason, bytes);
    ++bad_;
  }

  void done() {
    tc_.add_counter("input.records", records_);
    tc_.add_counter("input.bytes", split_.end - split_.begin);
    if (!policy_.counter.empty()) tc_.add_counter(policy_.counter, bad_);
  }

  const CsvSource::Impl& src_;
  const InputSplit& split_;
  bool starts_in_quotes_;
  TaskContext& tc_;
  const BadRecordPolicy& policy_;
  CsvRowSink sink_;
  void* row_sink_;
  CsvTokenizer tokenizer_;
  std::size_t min_fields_;
  CsvRecord fields_;
  std::string carry_;  // the bytes of a record that runs across blocks
  std::uint64_t partial_offset_ = 0;
  bool partial_ = false;
  bool partial_too_long_ = false;
  bool block_valid_utf8_ = true;
  std::uint64_t records_ = 0;
  std::uint64_t bad_ = 0;
};

}  // namespace

CsvSource CsvSource::plan(const std::string& path, const CsvFormat& format, std::size_t min_partitions,
                          std::vector<std::size_t> columns, const std::vector<std::string>& names) {
  if (format.separator == format.quote || format.separator == '\n' || format.quote == '\n' ||
      format.separator == '\r' || format.quote == '\r')
    throw config_error("read_csv: the separator and the quote must differ, and neither may be a line break");
  if (format.max_record_bytes == 0) throw config_error("read_csv: max_record_bytes must be positive");
  auto impl = std::make_shared<Impl>();
  std::vector<InputFile> files = list_input_files(path);
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  impl->splits = plan_splits(files, split_target(total, std::max<std::size_t>(min_partitions, 1)));
  impl->starts_in_quotes = format.multiline ? split_quote_states(impl->splits, format.quote)
                                            : std::vector<bool>(impl->splits.size(), false);
  impl->format = format;
  const bool by_name = std::any_of(names.begin(), names.end(), [](const std::string& n) { return !n.empty(); });
  if (by_name && !format.header) throw config_error("read_csv: columns bound by name need CsvOptions::header = true");
  if (format.header) impl->header = first_record(files.front(), format);
  impl->check_headers = by_name;
  if (by_name && impl->header.empty())
    throw config_error(fmt::format("read_csv: '{}' has no header to find column names in", files.front().path));
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i < names.size() && !names[i].empty()) {
      auto it = std::find(impl->header.begin(), impl->header.end(), names[i]);
      if (it == impl->header.end())
        throw config_error(fmt::format("read_csv: no column '{}' in the header of '{}' (\"{}\")", names[i],
                                       files.front().path, fmt::join(impl->header, "\",\"")));
      columns[i] = static_cast<std::size_t>(it - impl->header.begin());
      impl->labels.push_back(fmt::format("'{}' ({})", names[i], columns[i]));
    } else {
      impl->labels.push_back(std::to_string(columns[i]));
    }
  }
  impl->columns = std::move(columns);
  return CsvSource(std::move(impl));
}

std::size_t CsvSource::partitions() const noexcept { return impl_->splits.size(); }
const std::vector<std::size_t>& CsvSource::columns() const noexcept { return impl_->columns; }

void CsvSource::scan(TaskContext& tc, std::size_t p, const BadRecordPolicy& policy, CsvRowSink sink,
                     void* row_sink) const {
  CsvSplitScan(*impl_, p, tc, policy, sink, row_sink).run();
}

void CsvSource::save(Writer& w) const {
  const Impl& s = *impl_;
  save_splits(w, s.splits);
  std::vector<std::uint8_t> states(s.starts_in_quotes.begin(), s.starts_in_quotes.end());
  serialize_to(w, states);
  serialize_to(w, std::tuple(s.format.separator, s.format.quote, s.format.header, s.format.multiline,
                             s.format.max_record_bytes));
  std::vector<std::uint64_t> columns(s.columns.begin(), s.columns.end());
  serialize_to(w, columns);
  serialize_to(w, s.labels);
  serialize_to(w, s.header);
  serialize_to(w, s.check_headers);
}

CsvSource CsvSource::load(Reader& r) {
  auto impl = std::make_shared<Impl>();
  impl->splits = load_splits(r);
  auto states = deserialize_from<std::vector<std::uint8_t>>(r);
  if (states.size() != impl->splits.size()) throw serialization_error("read_csv: malformed split states");
  impl->starts_in_quotes.assign(states.begin(), states.end());
  auto [sep, quote, header, multiline, max_bytes] =
      deserialize_from<std::tuple<char, char, bool, bool, std::uint64_t>>(r);
  impl->format = CsvFormat{sep, quote, header, multiline, max_bytes};
  auto columns = deserialize_from<std::vector<std::uint64_t>>(r);
  impl->columns.assign(columns.begin(), columns.end());
  impl->labels = deserialize_from<std::vector<std::string>>(r);
  impl->header = deserialize_from<std::vector<std::string>>(r);
  impl->check_headers = deserialize_from<bool>(r);
  if (impl->labels.size() != impl->columns.size()) throw serialization_error("read_csv: malformed columns");
  return CsvSource(std::move(impl));
}

}  // namespace spate::detail
