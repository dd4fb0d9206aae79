// DatasetCore: what a Dataset handle holds: a node, or a node plus narrow operators not yet fused.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

#include "spate/detail/chain.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/node.hpp"

namespace spate::detail {

template <class T, class Stack>
struct DatasetCore;

/// A handle on an existing node.
template <class T>
struct DatasetCore<T, void> {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<Node<T>> node_;

  /// The node these records come from.
  std::shared_ptr<Node<T>> node() const { return node_; }
  /// The partitioner the records obey, or nullptr.
  std::shared_ptr<const PartitionerBase> partitioner() const { return node_->partitioner(); }
  /// A pending chain starting at this node with one op.
  template <class Op>
  auto then(Op op) const {
    using C = Chain<T, Op>;
    return DatasetCore<typename C::output_type, C>(engine, node_, Chain<T>{}.then(std::move(op)));
  }
};

/// A parent node plus a chain of narrow ops; the fused node is made once, when first needed, and
/// shared by every copy of the handle (so cache() on a copy caches for all of them).
template <class T, class In, class... Ops>
struct DatasetCore<T, Chain<In, Ops...>> {
  DatasetCore(std::shared_ptr<Engine> e, std::shared_ptr<Node<In>> parent, Chain<In, Ops...> c)
      : engine(std::move(e)), parent_(std::move(parent)), chain_(std::move(c)),
        made_(std::make_shared<Made>()) {}

  std::shared_ptr<Engine> engine;

  std::shared_ptr<Node<T>> node() const {
    std::lock_guard lock(made_->mutex);
    if (!made_->node)
      made_->node = std::make_shared<FusedNode<In, Ops...>>(engine->next_node_id(), parent_, chain_);
    return made_->node;
  }
  template <class Op>
  auto then(Op op) const {
    using C = Chain<In, Ops..., Op>;
    return DatasetCore<typename C::output_type, C>(engine, parent_, chain_.then(std::move(op)));
  }
  /// The partitioner the records will obey (the parent's, when every op preserves it).
  std::shared_ptr<const PartitionerBase> partitioner() const {
    if constexpr (Chain<In, Ops...>::preserves_partitioning) return parent_->partitioner();
    return nullptr;
  }

 private:
  struct Made {
    std::mutex mutex;
    std::shared_ptr<Node<T>> node;
  };
  std::shared_ptr<Node<In>> parent_;
  Chain<In, Ops...> chain_;
  std::shared_ptr<Made> made_;
};

}  // namespace spate::detail
