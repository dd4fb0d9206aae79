// CoGroupNode: groups two keyed datasets by key, partition by partition; joins are built on it.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "spate/detail/external_cogroup.hpp"
#include "spate/detail/shuffle_nodes.hpp"

namespace spate::detail {

/// One input of a cogroup: either shuffled into the cogroup's partitioning, or a parent that is
/// already partitioned that way (then read in the same task, no shuffle).
template <class K, class V>
struct CoGroupInput {
  std::shared_ptr<ShuffleDependencyBase> shuffle;  // set when the input is shuffled
  std::shared_ptr<Node<std::pair<K, V>>> narrow;   // set when it is co-partitioned already

  template <class F>
  void read(TaskContext& tc, std::size_t p, F&& f) const {
    if (shuffle) {
      read_buckets<std::pair<K, V>>(tc, *shuffle, p, f);
    } else {
      auto body = [&f](std::pair<K, V>&& r) { f(std::as_const(r)); };
      narrow->iterate(tc, p, Emit<std::pair<K, V>>(body));
    }
  }
  void save(GraphWriter& w) const {
    serialize_to(w.out(), shuffle != nullptr);
    if (shuffle) w.shuffle_ref(*shuffle);
    else w.node(narrow);
  }
  static CoGroupInput load(GraphReader& r) {
    CoGroupInput in;
    if (deserialize_from<bool>(r.in())) in.shuffle = r.shuffle_ref();
    else in.narrow = r.node_of<std::pair<K, V>>();
    return in;
  }
};

/// For each key of a partition: (key, (values from the left, values from the right)), keys in
/// order of first appearance (left input first; in key-hash order when the partition spilled
/// past the memory budget), values in arrival order.
template <class K, class V, class W>
class CoGroupNode final : public Node<std::pair<K, std::pair<std::vector<V>, std::vector<W>>>>,
                          private Registered<CoGroupNode<K, V, W>, TypeKind::node> {
  using Reg = Registered<CoGroupNode, TypeKind::node>;

 public:
  using Out = std::pair<K, std::pair<std::vector<V>, std::vector<W>>>;

  CoGroupNode(std::uint64_t id, std::size_t partitions, CoGroupInput<K, V> left,
              CoGroupInput<K, W> right, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<Out>(id, "cogroup", partitions), left_(std::move(left)), right_(std::move(right)) {
    if (left_.shuffle) this->add_shuffle_dependency(left_.shuffle);
    else this->add_narrow_parent(left_.narrow);
    if (right_.shuffle) this->add_shuffle_dependency(right_.shuffle);
    else this->add_narrow_parent(right_.narrow);
    this->set_partitioner(std::move(partitioner));
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    left_.save(w);
    right_.save(w);
  }
  static std::shared_ptr<CoGroupNode> load(GraphReader& r, const NodeHeader& h) {
    auto left = CoGroupInput<K, V>::load(r);
    auto right = CoGroupInput<K, W>::load(r);
    return std::make_shared<CoGroupNode>(h.id, h.partitions, std::move(left), std::move(right),
                                         nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Out> out) override {
    ExternalCoGroup<K, V, W> groups(tc);
    left_.read(tc, p, [&](const std::pair<K, V>& r) { groups.add_left(r.first, r.second); });
    right_.read(tc, p, [&](const std::pair<K, W>& r) { groups.add_right(r.first, r.second); });
    groups.drain([&](Out&& g) { out(std::move(g)); });
  }

 private:
  CoGroupInput<K, V> left_;
  CoGroupInput<K, W> right_;
};

}  // namespace spate::detail
