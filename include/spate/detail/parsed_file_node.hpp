// ParsedFileNode: the source node of the typed file readers (read_csv, read_json_lines), which
// fills rows of the user's type from what a compiled scanner parsed, through a binder
// (field_binding.hpp). Fields say how one bound field is read from one parsed record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "spate/detail/field_binding.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/parsed_source.hpp"

namespace spate::detail {

/// A typed reader's source node. Fields (CsvFields, JsonLinesFields) gives `Source` (the
/// compiled scanner, with partitions(), save(), load(), scan()), `Record` (what the scanner
/// hands per row), `kOperator` (the operator's name), `bindings(source)` (how many fields the
/// source extracts) and `read(source, record, i, member)` (nullptr, or why field i could not be
/// read into member).
template <class Row, class Binder, class Fields>
class ParsedFileNode final : public Node<Row>, private Registered<ParsedFileNode<Row, Binder, Fields>, TypeKind::node> {
  using Reg = Registered<ParsedFileNode, TypeKind::node>;
  using Source = typename Fields::Source;
  using Record = typename Fields::Record;

 public:
  ParsedFileNode(std::uint64_t id, Source source, Binder binder, BadRecordPolicy policy)
      : Node<Row>(id, Fields::kOperator, source.partitions()),
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
  static std::shared_ptr<ParsedFileNode> load(GraphReader& r, const NodeHeader& h) {
    Source source = Source::load(r.in());
    if (Fields::bindings(source) != Binder::size)
      throw serialization_error(std::string(Fields::kOperator) + ": malformed bindings");
    Binder binder = Binder::load(r.in());
    BadRecordPolicy policy;
    policy.strict = deserialize_from<bool>(r.in());
    policy.counter = deserialize_from<std::string>(r.in());
    return std::make_shared<ParsedFileNode>(h.id, std::move(source), binder, std::move(policy));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Row> out) override {
    Sink sink{binder_, source_, out};
    source_.scan(tc, p, policy_, &fill, &sink);
  }

 private:
  struct Sink {
    const Binder& binder;
    const Source& source;
    Emit<Row>& out;
    Row row{};  // filled anew for every record, see fill
  };

  // The scanner's callback (a plain function: the scanner is compiled once, in lib/).
  static RowProblem fill(void* sink, Record record) {
    Sink& s = *static_cast<Sink*>(sink);
    if constexpr (std::is_move_assignable_v<Row>) {
      // One row serves every record: a consumer that does not keep its strings (count, a map
      // to other fields) leaves their buffers, and the next record's text is copied into them
      // without allocating. Assigning Row{} first puts back the defaults of members no binding
      // sets (a std::string assigned an empty one keeps its buffer).
      s.row = Row{};
      return fill_row(s, s.row, record);
    } else {
      Row row{};
      return fill_row(s, row, record);
    }
  }

  static RowProblem fill_row(Sink& s, Row& row, Record record) {
    RowProblem problem = s.binder.visit(row, [&](std::size_t i, auto& member) -> RowProblem {
      if (const char* why = Fields::read(s.source, record, i, member)) return RowProblem{why, i};
      return {};
    });
    if (!problem) s.out(std::move(row));
    return problem;
  }

  Source source_;
  Binder binder_;
  BadRecordPolicy policy_;
};

}  // namespace spate::detail
