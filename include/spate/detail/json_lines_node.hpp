// How read_json_lines fills a row's members from the values JsonLinesSource parsed:
// JsonLinesNode, a ParsedFileNode.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "spate/detail/field_binding.hpp"
#include "spate/detail/json_lines_source.hpp"
#include "spate/detail/parsed_file_node.hpp"

namespace spate::detail {

/// The JSON kind a member of type M (or std::optional<M>) is read as.
template <class M>
constexpr JsonKind json_kind_of() {
  using V = typename optional_traits<M>::value_type;
  if constexpr (std::is_same_v<V, bool>) {
    return JsonKind::boolean;
  } else if constexpr (std::is_integral_v<V> && std::is_signed_v<V>) {
    return JsonKind::integer;
  } else if constexpr (std::is_integral_v<V>) {
    return JsonKind::unsigned_integer;
  } else if constexpr (std::is_floating_point_v<V>) {
    return JsonKind::floating;
  } else {
    static_assert(std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view>,
                  "read_json_lines binds members of integer, floating-point, bool, std::string or "
                  "std::string_view type, or std::optional of one of them");
    return JsonKind::string;
  }
}

/// Moves a parsed value into a member; a number the member's type cannot hold is refused.
template <class M>
const char* store_json_value(const JsonValue& v, M& out) {
  using Traits = optional_traits<M>;
  using V = typename Traits::value_type;
  if constexpr (Traits::is_optional) {
    if (!v.present) {
      out.reset();
      return nullptr;
    }
    V value{};
    if (const char* p = store_json_value(v, value)) return p;
    out = std::move(value);
    return nullptr;
  } else if constexpr (std::is_same_v<V, bool>) {
    out = v.boolean;
  } else if constexpr (std::is_integral_v<V> && std::is_signed_v<V>) {
    if (v.integer < std::numeric_limits<V>::min() || v.integer > std::numeric_limits<V>::max())
      return "integer out of the member type's range";
    out = static_cast<V>(v.integer);
  } else if constexpr (std::is_integral_v<V>) {
    if (v.unsigned_integer > std::numeric_limits<V>::max()) return "integer out of the member type's range";
    out = static_cast<V>(v.unsigned_integer);
  } else if constexpr (std::is_floating_point_v<V>) {
    out = static_cast<V>(v.floating);
  } else if constexpr (std::is_same_v<V, std::string_view>) {
    out = v.string;
  } else {
    out.assign(v.string);
  }
  return nullptr;
}

/// read_json_lines's fields for ParsedFileNode: bound field i is the parsed value values[i].
struct JsonLinesFields {
  using Source = JsonLinesSource;
  using Record = const JsonValue*;
  static constexpr const char* kOperator = "read_json_lines";
  static std::size_t bindings(const JsonLinesSource& source) { return source.fields().size(); }
  template <class M>
  static const char* read(const JsonLinesSource&, const JsonValue* values, std::size_t i, M& member) {
    return store_json_value(values[i], member);
  }
};

/// The source node of read_json_lines.
template <class Row, class Binder>
using JsonLinesNode = ParsedFileNode<Row, Binder, JsonLinesFields>;

}  // namespace spate::detail
