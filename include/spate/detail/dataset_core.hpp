// DatasetCore: what a Dataset handle holds: a node, or a node plus narrow operators not yet fused.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "spate/detail/chain.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/node.hpp"

namespace spate::detail {

template <class T, class Stack>
struct DatasetCore;

/// The owning-form node of a view dataset, made once per handle and shared by its copies.
template <class T>
class OwnedSlot {
 public:
  template <class Make>
  std::shared_ptr<Node<owned_t<T>>> get(Make make) {
    std::lock_guard lock(mutex_);
    if (!node_) node_ = make();
    return node_;
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<Node<owned_t<T>>> node_;
};

/// A handle on an existing node.
template <class T>
struct DatasetCore<T, void> {
  std::shared_ptr<Engine> engine;
  std::shared_ptr<Node<T>> node_;
  std::shared_ptr<OwnedSlot<T>> owned_ = std::make_shared<OwnedSlot<T>>();

  /// The node of the records in owning form, made by `make` the first time.
  template <class Make>
  std::shared_ptr<Node<owned_t<T>>> owned_node(Make make) const {
    return owned_->get(make);
  }

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

/// Where a chain handle's records come from, seen from the handle derived from it: whether it
/// reads a cached node (then the derived handle must read that node rather than re-fuse the
/// whole chain from the parent), and that node.
template <class T>
class ChainSource {
 public:
  virtual ~ChainSource() = default;
  /// The node of this handle.
  virtual std::shared_ptr<Node<T>> node() = 0;
  /// True when this handle's node, or one it must read through, is cached.
  virtual bool reads_cache() = 0;
};

/// A parent node plus a chain of narrow ops. The whole chain is fused into one node, unless the
/// handle it was derived from reads a cached node: then only the last op is fused onto that
/// node, as a Spark RDD derived from a cached one reads the cache. The node is shared by every
/// copy of the handle, so cache() on a copy caches for all of them.
template <class T, class In, class... Ops>
struct DatasetCore<T, Chain<In, Ops...>> {
  /// A chain straight on a node (no handle before it).
  DatasetCore(std::shared_ptr<Engine> e, std::shared_ptr<Node<In>> parent, Chain<In, Ops...> c)
      : engine(std::move(e)), state_(std::make_shared<State>(engine, std::move(parent), std::move(c))) {}

  /// A chain extending the handle `prev` by one op, `last`.
  template <class Prev, class Last>
  DatasetCore(std::shared_ptr<Engine> e, std::shared_ptr<Node<In>> parent, Chain<In, Ops...> c,
              std::shared_ptr<ChainSource<Prev>> prev, Last last)
      : engine(std::move(e)), state_(std::make_shared<State>(engine, std::move(parent), std::move(c))) {
    state_->prev_reads_cache = [prev] { return prev->reads_cache(); };
    state_->from_prev = [prev, last, eng = engine.get()]() -> std::shared_ptr<Node<T>> {
      return std::make_shared<FusedNode<Prev, Last>>(eng->next_node_id(), prev->node(),
                                                      Chain<Prev>{}.then(last));
    };
  }

  std::shared_ptr<Engine> engine;

  std::shared_ptr<Node<T>> node() const { return state_->node(); }
  template <class Op>
  auto then(Op op) const {
    using C = Chain<In, Ops..., Op>;
    return DatasetCore<typename C::output_type, C>(engine, state_->parent, state_->chain.then(op),
                                                   std::shared_ptr<ChainSource<T>>(state_), op);
  }
  /// The node of the records in owning form, made by `make` the first time.
  template <class Make>
  std::shared_ptr<Node<owned_t<T>>> owned_node(Make make) const {
    return owned_->get(make);
  }
  /// The partitioner the records will obey (the parent's, when every op preserves it).
  std::shared_ptr<const PartitionerBase> partitioner() const {
    if constexpr (Chain<In, Ops...>::preserves_partitioning) return state_->parent->partitioner();
    return nullptr;
  }

 private:
  struct State final : ChainSource<T> {
    State(std::shared_ptr<Engine> e, std::shared_ptr<Node<In>> p, Chain<In, Ops...> c)
        : engine(std::move(e)), parent(std::move(p)), chain(std::move(c)) {}

    std::shared_ptr<Node<T>> node() override {
      bool via_prev = prev_reads_cache && prev_reads_cache();
      std::lock_guard lock(mutex);
      // A cached node is kept whatever happens before it; otherwise the choice is made again,
      // since an earlier handle may have been cached since.
      if (made && (made->cached() || made_via_prev == via_prev)) return made;
      made = via_prev ? from_prev()
                      : std::make_shared<FusedNode<In, Ops...>>(engine->next_node_id(), parent, chain);
      made_via_prev = via_prev;
      return made;
    }
    bool reads_cache() override {
      {
        std::lock_guard lock(mutex);
        if (made && made->cached()) return true;
      }
      return prev_reads_cache && prev_reads_cache();
    }

    std::shared_ptr<Engine> engine;
    std::shared_ptr<Node<In>> parent;
    Chain<In, Ops...> chain;
    std::function<bool()> prev_reads_cache;
    std::function<std::shared_ptr<Node<T>>()> from_prev;
    std::mutex mutex;
    std::shared_ptr<Node<T>> made;
    bool made_via_prev = false;
  };

  std::shared_ptr<State> state_;
  std::shared_ptr<OwnedSlot<T>> owned_ = std::make_shared<OwnedSlot<T>>();
};

}  // namespace spate::detail
