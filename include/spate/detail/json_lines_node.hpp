// JsonLinesNode: the source node of read_json_lines, which fills rows of the user's type from
// the values JsonLinesSource parsed, through a binder (field_binding.hpp).
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
#include "spate/detail/node.hpp"

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

template <class Row, class Binder>
class JsonLinesNode final : public Node<Row>, private Registered<JsonLinesNode<Row, Binder>, TypeKind::node> {
  using Reg = Registered<JsonLinesNode, TypeKind::node>;

 public:
  JsonLinesNode(std::uint64_t id, JsonLinesSource source, Binder binder, BadRecordPolicy policy)
      : Node<Row>(id, "read_json_lines", source.partitions()),
        source_(std::move(source)),
        binder_(binder),
        policy_(std::move(policy)) {}

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    source_.save(w.out());
    binder_.save(w.out());
    serialize_to(w.out(), policy_.strict);
    serialize_to(w.out(), policy_.counter);
  }
  static std::shared_ptr<JsonLinesNode> load(GraphReader& r, const NodeHeader& h) {
    JsonLinesSource source = JsonLinesSource::load(r.in());
    if (source.fields().size() != Binder::size) throw serialization_error("read_json_lines: malformed bindings");
    Binder binder = Binder::load(r.in());
    BadRecordPolicy policy;
    policy.strict = deserialize_from<bool>(r.in());
    policy.counter = deserialize_from<std::string>(r.in());
    return std::make_shared<JsonLinesNode>(h.id, std::move(source), binder, std::move(policy));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Row> out) override {
    Sink sink{binder_, out};
    source_.scan(tc, p, policy_, &fill, &sink);
  }

 private:
  struct Sink {
    const Binder& binder;
    Emit<Row>& out;
  };

  static RowProblem fill(void* sink, const JsonValue* values) {
    Sink& s = *static_cast<Sink*>(sink);
    Row row{};
    RowProblem problem = s.binder.visit(row, [&](std::size_t i, auto& member) -> RowProblem {
      if (const char* p = store_json_value(values[i], member)) return RowProblem{p, i};
      return {};
    });
    if (!problem) s.out(std::move(row));
    return problem;
  }

  JsonLinesSource source_;
  Binder binder_;
  BadRecordPolicy policy_;
};

}  // namespace spate::detail
