// read_json_lines's compiled half: planning, and the per-split scan of lines through simdjson.
#include "spate/detail/json_lines_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "formats/bad_record.hpp"
#include "formats/json_line_parser.hpp"
#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "io/split_codec.hpp"
#include "spate/error.hpp"

namespace spate::detail {

struct JsonLinesSource::Impl {
  std::vector<InputSplit> splits;
  std::vector<JsonFieldSpec> fields;
};

namespace {

/// Bytes read from the file per block, so that a block is parsed while still in cache.
constexpr std::size_t kReadBytes = 256 << 10;
static_assert(LineReader::kBlockPadding >= simdjson::SIMDJSON_PADDING,
              "simdjson reads up to SIMDJSON_PADDING bytes past a document");

bool blank(const char* p, const char* end) {
  for (; p < end; ++p)
    if (*p != ' ' && *p != '\t' && *p != '\r') return false;
  return true;
}

}  // namespace

JsonLinesSource JsonLinesSource::plan(const std::string& path, std::size_t min_partitions,
                                      std::vector<JsonFieldSpec> fields) {
  for (std::size_t i = 0; i < fields.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (fields[i].name == fields[j].name)
        throw config_error(fmt::format("read_json_lines: field '{}' is bound twice", fields[i].name));
  auto impl = std::make_shared<Impl>();
  std::vector<InputFile> files = list_input_files(path);
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  impl->splits = plan_splits(files, split_target(total, std::max<std::size_t>(min_partitions, 1)));
  impl->fields = std::move(fields);
  return JsonLinesSource(std::move(impl));
}

std::size_t JsonLinesSource::partitions() const noexcept { return impl_->splits.size(); }
const std::vector<JsonFieldSpec>& JsonLinesSource::fields() const noexcept { return impl_->fields; }

void JsonLinesSource::scan(TaskContext& tc, std::size_t p, const BadRecordPolicy& policy, JsonRowSink sink,
                           void* row_sink) const {
  const InputSplit& split = impl_->splits[p];
  LineReader reader(split);
  JsonLineParser parser(impl_->fields);
  std::vector<JsonValue> values(impl_->fields.size());
  LineBlock block;
  std::uint64_t lines = 0, bad = 0;
  auto malformed = [&](const char* line, const char* end, std::uint64_t offset, RowProblem problem) {
    if (policy.strict) {
      std::string reason = problem.field < impl_->fields.size()
                               ? fmt::format("field '{}': {}", impl_->fields[problem.field].name, problem.what)
                               : std::string(problem.what);
      throw_bad_record(split, offset, "JSON-lines", reason, std::string_view(line, static_cast<std::size_t>(end - line)));
    }
    ++bad;
  };
  while (reader.next_block(block, kReadBytes)) {
    const char* p = block.begin;
    while (p < block.end) {
      if (lines++ % kRecordsBetweenChecks == 0) tc.check_killed();
      const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(block.end - p)));
      const char* end = nl;
      if (end > p && end[-1] == '\r') --end;
      if (!blank(p, end)) {
        const auto size = static_cast<std::size_t>(end - p);
        const std::size_t capacity = static_cast<std::size_t>(block.end - p) + LineReader::kBlockPadding;
        const std::uint64_t offset = block.offset + static_cast<std::uint64_t>(p - block.begin);
        if (RowProblem problem = parser.parse(p, size, capacity, values.data())) {
          malformed(p, end, offset, problem);
        } else if (RowProblem refused = sink(row_sink, values.data())) {
          malformed(p, end, offset, refused);
        }
      }
      p = nl + 1;
    }
  }
  tc.add_counter("input.records", lines);
  tc.add_counter("input.bytes", split.end - split.begin);
  if (!policy.counter.empty()) tc.add_counter(policy.counter, bad);
}

void JsonLinesSource::save(Writer& w) const {
  save_splits(w, impl_->splits);
  w.write_varint(impl_->fields.size());
  for (const auto& f : impl_->fields)
    serialize_to(w, std::tuple(f.name, static_cast<std::uint8_t>(f.kind), f.optional));
}

JsonLinesSource JsonLinesSource::load(Reader& r) {
  auto impl = std::make_shared<Impl>();
  impl->splits = load_splits(r);
  impl->fields.resize(r.read_count(2));
  for (auto& f : impl->fields) {
    auto [name, kind, optional] = deserialize_from<std::tuple<std::string, std::uint8_t, bool>>(r);
    if (kind > static_cast<std::uint8_t>(JsonKind::string)) throw serialization_error("read_json_lines: malformed field kind");
    f = JsonFieldSpec{std::move(name), static_cast<JsonKind>(kind), optional};
  }
  return JsonLinesSource(std::move(impl));
}

}  // namespace spate::detail
