// CsvNode: the source node of read_csv, which fills rows of the user's type from CsvSource's
// records through a binder (field_binding.hpp).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "spate/detail/csv_source.hpp"
#include "spate/detail/field_binding.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/text_field.hpp"

namespace spate::detail {

/// Reads one field's text into a member: an optional member is empty for an empty field, except
/// that a quoted "" is an empty string for std::optional<std::string> (or std::string_view).
template <class M>
FieldProblem read_csv_field(std::string_view text, bool quoted, M& out) {
  using Traits = optional_traits<M>;
  if constexpr (Traits::is_optional) {
    using V = typename Traits::value_type;
    constexpr bool is_text = std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view>;
    if (text.empty() && !(quoted && is_text)) {
      out.reset();
      return nullptr;
    }
    V value{};
    if (FieldProblem p = parse_text_field(text, value)) return p;
    out = std::move(value);
    return nullptr;
  } else {
    return parse_text_field(text, out);
  }
}

template <class Row, class Binder>
class CsvNode final : public Node<Row>, private Registered<CsvNode<Row, Binder>, TypeKind::node> {
  using Reg = Registered<CsvNode, TypeKind::node>;

 public:
  CsvNode(std::uint64_t id, CsvSource source, Binder binder, BadRecordPolicy policy)
      : Node<Row>(id, "read_csv", source.partitions()),
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
  static std::shared_ptr<CsvNode> load(GraphReader& r, const NodeHeader& h) {
    CsvSource source = CsvSource::load(r.in());
    if (source.columns().size() != Binder::size) throw serialization_error("read_csv: malformed bindings");
    Binder binder = Binder::load(r.in());
    BadRecordPolicy policy;
    policy.strict = deserialize_from<bool>(r.in());
    policy.counter = deserialize_from<std::string>(r.in());
    return std::make_shared<CsvNode>(h.id, std::move(source), binder, std::move(policy));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Row> out) override {
    Sink sink{binder_, source_.columns(), out};
    source_.scan(tc, p, policy_, &fill, &sink);
  }

 private:
  struct Sink {
    const Binder& binder;
    const std::vector<std::size_t>& columns;
    Emit<Row>& out;
  };

  static RowProblem fill(void* sink, const CsvRecord& record) {
    Sink& s = *static_cast<Sink*>(sink);
    Row row{};
    RowProblem problem = s.binder.visit(row, [&](std::size_t i, auto& member) -> RowProblem {
      const std::size_t c = s.columns[i];
      if (FieldProblem p = read_csv_field(record[c], record.quoted(c), member)) return RowProblem{p, i};
      return {};
    });
    if (!problem) s.out(std::move(row));
    return problem;
  }

  CsvSource source_;
  Binder binder_;
  BadRecordPolicy policy_;
};

}  // namespace spate::detail
