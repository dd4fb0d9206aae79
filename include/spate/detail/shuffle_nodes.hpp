// The shuffle: map-side writers (combining or plain) and the reduce-side nodes that read buckets.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/error.hpp"
#include "spate/hash.hpp"
#include "spate/record_traits.hpp"

namespace spate::detail {

/// Hash for in-task hash tables: stable_hash re-mixed, so that keys that share a partition
/// (equal `stable_hash % n`) still spread over the table. Transparent: a std::string table can
/// be probed with a std::string_view without building a string.
struct TableHash {
  using is_transparent = void;
  template <class K>
  std::size_t operator()(const K& k) const noexcept {
    return static_cast<std::size_t>(mix64(stable_hash<K>{}(k) ^ 0x2545f4914f6cdd1dULL));
  }
};

/// Equality for in-task hash tables; transparent like TableHash, so views compare with the
/// owning keys they stand for, also inside pairs and tuples (std::pair's == needs equal types).
struct TableEq {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    if constexpr (requires { std::tuple_size<A>::value; } && !std::is_same_v<A, B>) {
      return equal_elements(a, b, std::make_index_sequence<std::tuple_size_v<A>>{});
    } else {
      return a == b;
    }
  }

 private:
  template <class A, class B, std::size_t... I>
  bool equal_elements(const A& a, const B& b, std::index_sequence<I...>) const {
    return ((*this)(std::get<I>(a), std::get<I>(b)) && ...);
  }
};

/// Open-addressing hash table used for aggregation and grouping.
template <class K, class V>
using HashTable = boost::unordered_flat_map<K, V, TableHash, TableEq>;

/// Calls f(const R&) for every record that map tasks 0..num_maps-1 wrote for reduce partition p,
/// in map-partition order (so the order is the same on every run).
template <class R, class F>
void read_buckets(TaskContext& tc, int shuffle_id, std::size_t num_maps, std::size_t p, F&& f) {
  for (std::size_t m = 0; m < num_maps; ++m) {
    auto out = tc.blocks().map_output(shuffle_id, m);
    if (!out)
      throw error("shuffle " + std::to_string(shuffle_id) + ": output of map partition " +
                  std::to_string(m) + " is missing");
    for (const R& r : static_cast<const TypedMapOutput<R>&>(*out).bucket(p)) f(r);
  }
}

/// How values of one key are combined: create a combiner from the first value, merge further
/// values into it, and merge two combiners (map-side results meeting at the reducer).
template <class V, class C, class Create, class MergeValue, class MergeCombiners>
struct Aggregator {
  Create create;
  MergeValue merge_value;
  MergeCombiners merge_combiners;
};

/// Map side of reduce_by_key / aggregate_by_key: combines values per key in a hash table over the
/// whole partition, then writes one (key, combiner) per key into its bucket.
template <class In, class Agg, class Part>
class CombiningShuffle final : public ShuffleDependencyBase {
 public:
  using K = owned_t<typename In::first_type>;
  using C = std::remove_cvref_t<decltype(std::declval<Agg&>().create(
      std::declval<owned_t<typename In::second_type>>()))>;
  using Record = std::pair<K, C>;

  CombiningShuffle(int id, std::shared_ptr<Node<In>> parent, Agg agg, Part part)
      : ShuffleDependencyBase(id, parent, part.num_partitions()),
        parent_(std::move(parent)),
        agg_(std::move(agg)),
        part_(std::move(part)) {}

  void run_map_task(TaskContext& tc, std::size_t m) const override {
    Agg agg = agg_;  // a task's own copy of the user's functions
    HashTable<K, C> table;
    auto body = [&](In&& x) {
      auto it = table.find(x.first);
      if (it == table.end()) {
        table.emplace(to_owned_move(std::move(x.first)),
                      agg.create(to_owned_move(std::move(x.second))));
      } else {
        agg.merge_value(it->second, to_owned_move(std::move(x.second)));
      }
    };
    parent_->iterate(tc, m, Emit<In>(body));
    auto out = std::make_shared<TypedMapOutput<Record>>(num_reducers());
    for (auto& [k, c] : table) out->bucket(part_(k)).emplace_back(k, std::move(c));
    tc.blocks().put_map_output(shuffle_id(), m, std::move(out));
  }

 private:
  std::shared_ptr<Node<In>> parent_;
  Agg agg_;
  Part part_;
};

/// Map side without combining: each record, in its owning form, goes to bucket
/// `bucket(record, map_partition, sequence_number)`.
template <class In, class Bucket>
class PlainShuffle final : public ShuffleDependencyBase {
 public:
  using Record = owned_t<In>;

  PlainShuffle(int id, std::shared_ptr<Node<In>> parent, std::size_t num_reducers, Bucket bucket)
      : ShuffleDependencyBase(id, parent, num_reducers),
        parent_(std::move(parent)),
        bucket_(std::move(bucket)) {}

  void run_map_task(TaskContext& tc, std::size_t m) const override {
    auto out = std::make_shared<TypedMapOutput<Record>>(num_reducers());
    std::uint64_t seq = 0;
    auto body = [&](In&& x) {
      Record r = to_owned_move(std::move(x));
      std::size_t b = bucket_(std::as_const(r), m, seq++);
      out->bucket(b).push_back(std::move(r));
    };
    parent_->iterate(tc, m, Emit<In>(body));
    tc.blocks().put_map_output(shuffle_id(), m, std::move(out));
  }

 private:
  std::shared_ptr<Node<In>> parent_;
  Bucket bucket_;
};

/// Reduce side of a plain shuffle: a partition is its buckets from every map task, in order.
template <class R>
class ShuffleReadNode final : public Node<R> {
 public:
  ShuffleReadNode(std::uint64_t id, std::string name, std::shared_ptr<ShuffleDependencyBase> dep,
                  std::shared_ptr<const PartitionerBase> partitioner)
      : Node<R>(id, std::move(name), dep->num_reducers()), dep_(dep) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<R> out) override {
    read_buckets<R>(tc, dep_->shuffle_id(), dep_->parent()->num_partitions(), p, [&](const R& r) {
      R copy(r);
      out(std::move(copy));
    });
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
};

/// Reduce side of an aggregation: merges the (key, X) records of every bucket per key, where X
/// is a combiner (map side combined) or a raw value, and emits one (key, combiner) per key.
template <class K, class C, class X, class Agg>
class AggregatedNode final : public Node<std::pair<K, C>> {
 public:
  AggregatedNode(std::uint64_t id, std::string name, std::shared_ptr<ShuffleDependencyBase> dep,
                 Agg agg, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<std::pair<K, C>>(id, std::move(name), dep->num_reducers()),
        dep_(dep),
        agg_(std::move(agg)) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<K, C>> out) override {
    Agg agg = agg_;  // a task's own copy of the user's functions
    HashTable<K, C> table;
    read_buckets<std::pair<K, X>>(
        tc, dep_->shuffle_id(), dep_->parent()->num_partitions(), p,
        [&](const std::pair<K, X>& r) {
          auto it = table.find(r.first);
          if constexpr (std::is_same_v<X, C>) {
            if (it == table.end()) table.emplace(r.first, r.second);
            else agg.merge_combiners(it->second, r.second);
          } else {
            if (it == table.end()) table.emplace(r.first, agg.create(X(r.second)));
            else agg.merge_value(it->second, X(r.second));
          }
        });
    for (auto& kv : table) {
      std::pair<K, C> rec(kv.first, std::move(kv.second));
      out(std::move(rec));
    }
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
  Agg agg_;
};

/// Reduce side of sort_by_key: a range-partitioned bucket sorted by key (stable, so records
/// with equal keys keep their map-partition order).
template <class K, class V, class Less>
class SortedNode final : public Node<std::pair<K, V>> {
 public:
  SortedNode(std::uint64_t id, std::shared_ptr<ShuffleDependencyBase> dep, bool ascending,
             Less less, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<std::pair<K, V>>(id, "sort_by_key", dep->num_reducers()),
        dep_(dep),
        ascending_(ascending),
        less_(less) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<K, V>> out) override {
    std::vector<std::pair<K, V>> all;
    read_buckets<std::pair<K, V>>(tc, dep_->shuffle_id(), dep_->parent()->num_partitions(), p,
                                  [&](const std::pair<K, V>& r) { all.push_back(r); });
    if (ascending_) {
      std::stable_sort(all.begin(), all.end(),
                       [this](const auto& a, const auto& b) { return less_(a.first, b.first); });
    } else {
      std::stable_sort(all.begin(), all.end(),
                       [this](const auto& a, const auto& b) { return less_(b.first, a.first); });
    }
    for (auto& r : all) out(std::move(r));
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
  bool ascending_;
  Less less_;
};

}  // namespace spate::detail

namespace spate::detail {

/// Bucket of a (key, value) record: the partitioner applied to its key.
template <class Part>
struct KeyBucket {
  Part part;
  template <class R>
  std::size_t operator()(const R& r, std::size_t, std::uint64_t) const {
    return part(r.first);
  }
};

/// Bucket for repartition: records of a map task dealt round-robin, from a start that depends
/// on the map partition, so that small partitions do not all fill bucket 0.
struct RoundRobinBucket {
  std::size_t n;
  template <class R>
  std::size_t operator()(const R&, std::size_t map_partition, std::uint64_t seq) const {
    return static_cast<std::size_t>((mix64(map_partition) + seq) % n);
  }
};

}  // namespace spate::detail
