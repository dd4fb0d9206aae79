// The compiled half of read_json_lines: planned splits and the scan that parses each line with
// simdjson into the bound fields' values. The templates in json_lines_node.hpp fill user rows.
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

/// The JSON type a bound member takes.
enum class JsonKind : std::uint8_t { integer, unsigned_integer, floating, boolean, string };

/// One bound field: its name in the objects, the kind of value, and whether it may be missing or
/// null (an optional member).
struct JsonFieldSpec {
  std::string name;
  JsonKind kind = JsonKind::string;
  bool optional = false;
};

/// A bound field's value in one line, valid while the row is built from it. present is false for
/// a missing or null optional field; otherwise the member of its kind holds the value.
struct JsonValue {
  bool present = false;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
  double floating = 0;
  bool boolean = false;
  std::string_view string;
};

/// Fills a row from the values of the bound fields, in binding order.
using JsonRowSink = RowProblem (*)(void* row_sink, const JsonValue* values);

/// Planned input of read_json_lines: its splits and bound fields.
class JsonLinesSource {
 public:
  struct Impl;
  explicit JsonLinesSource(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  /// Lists the files of `path` and plans splits as text_file does (at least min_partitions).
  /// Throws io_error when nothing is readable, config_error for two fields of one name.
  static JsonLinesSource plan(const std::string& path, std::size_t min_partitions,
                              std::vector<JsonFieldSpec> fields);

  std::size_t partitions() const noexcept;
  const std::vector<JsonFieldSpec>& fields() const noexcept;

  /// Scans partition p: each non-blank line that starts in its split must be one JSON object
  /// whose bound fields have their kinds; its values go to `sink`. Any other line (invalid JSON
  /// or UTF-8, not an object, nested deeper than 1024, a missing or mistyped field, a field twice,
  /// anything after the object) is malformed: counted or, in strict mode, fails the task.
  void scan(TaskContext& tc, std::size_t p, const BadRecordPolicy& policy, JsonRowSink sink,
            void* row_sink) const;

  void save(Writer& w) const;
  static JsonLinesSource load(Reader& r);

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace spate::detail
