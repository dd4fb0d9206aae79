// Chain: a stage's narrow operators folded into one function, and FusedNode, the node that runs it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "spate/detail/narrow_ops.hpp"
#include "spate/detail/node.hpp"
#include "spate/error.hpp"

namespace spate::detail {

template <class X, class... Ops>
struct chain_out {
  using type = X;
};
template <class X, class Op, class... Rest>
struct chain_out<X, Op, Rest...> {
  using type = typename chain_out<typename Op::template out_t<X>, Rest...>::type;
};

/// Narrow operators applied in order to records of type In; a compile-time list, so applying the
/// whole chain to a record is one inlined call sequence.
template <class In, class... Ops>
struct Chain {
  using input_type = In;
  using output_type = typename chain_out<In, Ops...>::type;
  static constexpr bool preserves_partitioning = (Ops::preserves_partitioning && ...);

  std::tuple<Ops...> ops;

  /// A chain with `op` appended.
  template <class Op>
  Chain<In, Ops..., Op> then(Op op) const {
    return {std::tuple_cat(ops, std::tuple<Op>(std::move(op)))};
  }

  /// Pushes record x (which the chain may move from) through every op into `out`.
  template <class Out>
  void push(In& x, Out& out) {
    step<0>(x, out);
  }

  /// Writes every op's state, in order.
  void save_state(Writer& w) const {
    std::apply([&w](const Ops&... op) { (detail::save_state(w, op), ...); }, ops);
  }
  /// Rebuilds a chain written by save_state (braced initialisation reads the ops in order).
  static Chain load_state(Reader& r) { return Chain{std::tuple<Ops...>{detail::load_state<Ops>(r)...}}; }

  /// "map.filter.map": the ops' names, for messages.
  static std::string names() {
    std::string s;
    ((s += (s.empty() ? "" : "."), s += Ops::name), ...);
    return s;
  }

 private:
  template <std::size_t I, class X, class Out>
  void step(X& x, Out& out) {
    if constexpr (I == sizeof...(Ops)) {
      out(std::move(x));
    } else {
      auto next = [this, &out](auto& y) { this->template step<I + 1>(y, out); };
      // Exceptions from later ops were named by their own step; spate's own errors (a full
      // disk under a shuffle writer) are not the user's function's.
      try {
        std::get<I>(ops)(x, next);
      } catch (const spate::error&) {
        throw;
      } catch (const std::exception& e) {
        throw operator_error(std::tuple_element_t<I, std::tuple<Ops...>>::name, e.what());
      }
    }
  }
};

/// A node that runs a Chain over each partition of its parent.
template <class In, class... Ops>
class FusedNode final : public Node<typename Chain<In, Ops...>::output_type>,
                        private Registered<FusedNode<In, Ops...>, TypeKind::node> {
  using Reg = Registered<FusedNode, TypeKind::node>;

 public:
  using Out = typename Chain<In, Ops...>::output_type;

  FusedNode(std::uint64_t id, std::shared_ptr<Node<In>> parent, Chain<In, Ops...> chain)
      : Node<Out>(id, Chain<In, Ops...>::names(), parent->num_partitions()),
        parent_(std::move(parent)),
        chain_(std::move(chain)) {
    this->add_narrow_parent(parent_);
    if constexpr (Chain<In, Ops...>::preserves_partitioning)
      this->set_partitioner(parent_->partitioner());
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    chain_.save_state(w.out());
  }
  static std::shared_ptr<FusedNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<In>();
    return std::make_shared<FusedNode>(h.id, std::move(parent),
                                       Chain<In, Ops...>::load_state(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Out> out) override {
    // Each task gets its own copy of the functions, as each Spark task deserialises its closure.
    Chain<In, Ops...> chain = chain_;
    auto body = [&chain, &out](In&& x) { chain.push(x, out); };
    parent_->iterate(tc, p, Emit<In>(body));
  }

 private:
  std::shared_ptr<Node<In>> parent_;
  Chain<In, Ops...> chain_;
};

}  // namespace spate::detail
