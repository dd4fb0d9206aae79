// read_json_lines: files of one JSON object per line as a dataset of typed rows, parsed with
// simdjson and split like text_file.
//
//   struct Event { std::int64_t ts; std::string user; std::optional<double> cost; bool ok; };
//   auto events = spate::read_json_lines<Event>(ctx, "events/*.jsonl.zst", {},
//                                               spate::json_field(&Event::ts, "ts"),
//                                               spate::json_field(&Event::user, "user"),
//                                               spate::json_field(&Event::cost, "cost"),
//                                               spate::json_field(&Event::ok, "ok"));
//
// A member takes the field of its name, in any order; other fields are ignored, but the whole
// line must be valid JSON (simdjson's DOM parser checks all of it). Member types: signed and unsigned integers (a JSON integer within the type's
// range; 1.0 is not an integer), float and double (any JSON number), bool (true or false),
// std::string (a JSON string, unescaped), std::string_view (the same, valid while the row is
// processed: map the row to an owning type before it is stored, shuffled or collected), and
// std::optional of any of these, which is empty when
// the field is missing or null. A line is malformed when it is not one JSON object (invalid JSON,
// invalid UTF-8, an array or scalar, anything after the object, nesting deeper than 1024,
// an integer beyond 64 bits anywhere), or a
// non-optional field is missing or null, a field has another type, or a bound field appears
// twice. Blank lines are skipped. Malformed lines are skipped and counted, or with `strict` fail
// the job naming file, line, field and reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spate/context.hpp"
#include "spate/detail/json_lines_node.hpp"
#include "spate/parsed_input.hpp"

namespace spate {

/// How read_json_lines reads its files.
struct JsonLinesOptions {
  /// false: skip and count malformed lines; true: fail the job on the first one.
  bool strict = false;
  /// At least this many partitions (default: the context's parallelism).
  std::size_t min_partitions = 0;
};

/// Binds member `member` of Row to the JSON field `name`.
template <class Row, class M>
struct JsonField {
  M Row::*member;
  std::string name;
};

/// The field `name` (as written in the JSON, after unescaping) fills `member`.
template <class Row, class M>
JsonField<Row, M> json_field(M Row::*member, std::string name) {
  return {member, std::move(name)};
}

/// Reads JSON-lines files (a file, a directory or a glob; plain, .gz or .zst) into rows of type
/// Row (default-constructible; serializable to be shuffled, cached or collected), one per
/// well-formed line. Plain files are split into byte ranges like text_file. Throws io_error when
/// nothing is readable, config_error when a name is bound twice.
template <class Row, class... M>
ParsedInput<Row> read_json_lines(const Context& ctx, const std::string& path, const JsonLinesOptions& options,
                                 JsonField<Row, M>... fields) {
  static_assert(sizeof...(M) > 0, "read_json_lines needs at least one field binding");
  using Binder = detail::MemberBinder<Row, M...>;
  auto engine = ctx.engine();
  const std::uint64_t id = engine->next_node_id();
  detail::BadRecordPolicy policy{options.strict, "read_json_lines/" + std::to_string(id) + "/malformed_lines"};
  std::vector<detail::JsonFieldSpec> specs{
      detail::JsonFieldSpec{fields.name, detail::json_kind_of<M>(), detail::optional_traits<M>::is_optional}...};
  auto source = detail::JsonLinesSource::plan(
      path, options.min_partitions ? options.min_partitions : ctx.default_parallelism(), std::move(specs));
  auto node = std::make_shared<detail::JsonLinesNode<Row, Binder>>(id, std::move(source),
                                                                   Binder(fields.member...), policy);
  return ParsedInput<Row>(Dataset<Row>(detail::DatasetCore<Row, void>{engine, node}), engine, policy.counter);
}

}  // namespace spate
