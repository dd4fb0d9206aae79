// How read_csv fills a row's members from CsvSource's records: CsvNode, a ParsedFileNode.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spate/detail/csv_source.hpp"
#include "spate/detail/field_binding.hpp"
#include "spate/detail/parsed_file_node.hpp"
#include "spate/detail/text_field.hpp"

namespace spate::detail {

/// Reads one field's text into a value: plain digits inline, anything else through lib/.
/// padded: 8 bytes after the text may be read.
template <class V>
FieldProblem read_csv_value(std::string_view text, bool padded, V& out) {
  if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    if (padded ? parse_padded_digits(text, out) : parse_plain_digits(text, out)) return nullptr;
  }
  return parse_text_field(text, out);
}

/// Reads one field's text into a member: an optional member is empty for an empty field, except
/// that a quoted "" is an empty string for std::optional<std::string> (or std::string_view).
template <class M>
FieldProblem read_csv_field(std::string_view text, bool quoted, bool padded, M& out) {
  using Traits = optional_traits<M>;
  if constexpr (Traits::is_optional) {
    using V = typename Traits::value_type;
    constexpr bool is_text = std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view>;
    if (text.empty() && !(quoted && is_text)) {
      out.reset();
      return nullptr;
    }
    V value{};
    if (FieldProblem p = read_csv_value(text, padded, value)) return p;
    out = std::move(value);
    return nullptr;
  } else {
    return read_csv_value(text, padded, out);
  }
}

/// read_csv's fields for ParsedFileNode: bound field i is the record's column columns()[i].
struct CsvFields {
  using Source = CsvSource;
  using Record = const CsvRecord&;
  static constexpr const char* kOperator = "read_csv";
  static std::size_t bindings(const CsvSource& source) { return source.columns().size(); }
  template <class M>
  static FieldProblem read(const CsvSource&, const CsvRecord& record, std::size_t i, M& member) {
    return read_csv_field(record.bound(i), record.bound_quoted(i), record.padded_, member);
  }
};

/// The source node of read_csv.
template <class Row, class Binder>
using CsvNode = ParsedFileNode<Row, Binder, CsvFields>;

}  // namespace spate::detail
