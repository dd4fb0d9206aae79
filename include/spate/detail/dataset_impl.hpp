// Definitions of Dataset's wide operators, persistence and actions (declared in dataset.hpp).
#pragma once

#include <algorithm>
#include <queue>

#include "spate/dataset.hpp"
#include "spate/detail/aggregators.hpp"
#include "spate/detail/bound_task.hpp"
#include "spate/detail/checkpoint_nodes.hpp"
#include "spate/detail/cogroup_node.hpp"
#include "spate/detail/join_expand.hpp"
#include "spate/detail/partition_nodes.hpp"
#include "spate/detail/run_partitions.hpp"
#include "spate/detail/shuffle_nodes.hpp"
#include "spate/detail/object_file_nodes.hpp"
#include "spate/detail/text_output.hpp"
#include "spate/detail/top_selection.hpp"
#include "spate/error.hpp"

namespace spate {

// ---- helpers ----

template <class T, class Stack>
std::shared_ptr<detail::Node<owned_t<T>>> Dataset<T, Stack>::owned_node() const {
  // Every wide operator and cache() stores records through here.
  detail::require_serializable<owned_t<T>>();
  if constexpr (std::is_same_v<T, owned_t<T>>) {
    return node();
  } else {
    // One owning node per handle (shared by its copies), so cache() and unpersist() on a view
    // dataset refer to the same node.
    return core_.owned_node([this] { return core_.then(detail::OwnOp{}).node(); });
  }
}

template <class T, class Stack>
std::shared_ptr<const PartitionerBase> Dataset<T, Stack>::known_partitioner() const {
  return core_.partitioner();
}

template <class T, class Stack>
bool Dataset<T, Stack>::keeps_partitioning(std::size_t partitions) const {
  auto known = known_partitioner();
  if (!known) return false;
  return partitions == 0 || known->same_as(HashPartitioner(partitions));
}

namespace detail {
/// Throws unless both datasets run on the same Context: shuffle and cache ids are per Context,
/// so a job cannot read another Context's blocks (Spark refuses the same way).
inline void require_same_context(const Engine* a, const Engine* b, const char* op) {
  if (a != b)
    throw error(std::string(op) + ": the two datasets belong to different Contexts; create both "
                                  "from the same spate::Context");
}
}  // namespace detail

// ---- narrow operators that need a node of their own ----

template <class T, class Stack>
template <class F>
auto Dataset<T, Stack>::map_partitions(F f, bool keeps_partitioner) const {
  detail::require_shippable<F>();
  using In = owned_t<T>;
  using R = std::invoke_result_t<F&, std::size_t, std::vector<In>&&>;
  using U = std::remove_cvref_t<std::ranges::range_value_t<R>>;
  return from_node<U>(std::make_shared<detail::MapPartitionsNode<In, U, F>>(
      engine()->next_node_id(), owned_node(), std::move(f), keeps_partitioner));
}

template <class T, class Stack>
template <class F>
auto Dataset<T, Stack>::map_partitions_with_index(F f, bool keeps_partitioner) const {
  detail::require_shippable<F>();
  using In = owned_t<T>;
  static_assert(std::is_invocable_v<F&, std::size_t, PartitionRecords<In>&>,
                "map_partitions_with_index: f must take (std::size_t partition, "
                "spate::PartitionRecords<T>& records)");
  using R = std::invoke_result_t<F&, std::size_t, PartitionRecords<In>&>;
  static_assert(std::ranges::input_range<R>,
                "map_partitions_with_index: f must return a range (a container or a view)");
  using U = std::remove_cvref_t<std::ranges::range_value_t<R>>;
  return from_node<U>(std::make_shared<detail::MapPartitionsNode<In, U, F, true>>(
      engine()->next_node_id(), owned_node(), std::move(f), keeps_partitioner));
}

template <class T, class Stack>
template <class S>
Dataset<T> Dataset<T, Stack>::union_with(const Dataset<T, S>& other) const {
  detail::require_same_context(engine().get(), other.engine().get(), "union_with");
  std::vector<std::shared_ptr<detail::Node<T>>> parents{node(), other.node()};
  return from_node<T>(
      std::make_shared<detail::UnionNode<T>>(engine()->next_node_id(), std::move(parents)));
}

template <class T, class Stack>
Dataset<T> Dataset<T, Stack>::sample(bool with_replacement, double fraction,
                                     std::uint64_t seed) const {
  if (!(fraction >= 0.0) || (!with_replacement && fraction > 1.0))
    throw config_error("sample: fraction must be in [0, 1] without replacement and >= 0 with it");
  return from_node<T>(std::make_shared<detail::SampleNode<T>>(
      engine()->next_node_id(), node(), with_replacement, fraction, seed));
}

template <class T, class Stack>
Dataset<std::pair<owned_t<T>, std::uint64_t>> Dataset<T, Stack>::zip_with_index() const {
  auto parent = owned_node();
  std::vector<std::uint64_t> starts(parent->num_partitions(), 0);
  if (parent->num_partitions() > 1) {
    auto counts = detail::run_partitions(
        *engine(), parent, [](detail::TaskContext& tc, std::size_t p, detail::Node<owned_t<T>>& n) {
          std::uint64_t c = 0;
          detail::for_each_record(tc, p, n, [&c](owned_t<T>&&) { ++c; });
          return c;
        });
    for (std::size_t p = 1; p < counts.size(); ++p) starts[p] = starts[p - 1] + counts[p - 1];
  }
  return from_node<std::pair<owned_t<T>, std::uint64_t>>(
      std::make_shared<detail::ZipWithIndexNode<owned_t<T>>>(engine()->next_node_id(), parent,
                                                             std::move(starts)));
}

template <class T, class Stack>
Dataset<T> Dataset<T, Stack>::coalesce(std::size_t n) const {
  auto parent = node();
  if (n == 0) throw config_error("coalesce: the number of partitions must be at least 1");
  if (n >= parent->num_partitions()) return from_node<T>(parent);
  return from_node<T>(
      std::make_shared<detail::CoalesceNode<T>>(engine()->next_node_id(), parent, n));
}

// ---- persistence ----

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::persist(StorageLevel level) const {
  using R = owned_t<T>;
  if (level == StorageLevel::none)
    throw config_error("persist(StorageLevel::none) keeps nothing: call unpersist() to stop persisting");
  if (uses_disk(level) && !is_serializable_v<R>)
    throw config_error(fmt::format("persist({}): the records cannot be serialized, so they cannot go to disk; "
                                   "use StorageLevel::memory_only, or give the record type serialize()",
                                   to_string(level)));
  auto n = owned_node();
  StorageLevel now = n->storage_level();
  if (now != StorageLevel::none && now != level)
    throw config_error(fmt::format("persist({}): the dataset is already persisted as {}; a level cannot be "
                                   "changed once set (call unpersist() first)",
                                   to_string(level), to_string(now)));
  n->set_storage_level(level);
  return from_node<R>(n);
}

template <class T, class Stack>
void Dataset<T, Stack>::unpersist() const {
  auto n = owned_node();
  n->set_storage_level(StorageLevel::none);
  engine()->drop_cached(n->id());
}

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::checkpoint() const {
  using R = owned_t<T>;
  auto nd = node();
  auto& eng = *engine();
  std::uint64_t id = eng.next_node_id();
  // Removes the directory, with whatever a failed job left in it, unless the node takes it.
  auto dir = std::make_shared<const detail::CheckpointDirectory>(eng.checkpoint_path(id));
  detail::CheckpointWriteHandler<T> handler(dir->path(), nd);
  eng.run_job(nd, handler);
  dir->check_complete(nd->num_partitions());
  std::string path = dir->path();
  return from_node<R>(std::make_shared<detail::CheckpointNode<R>>(id, std::move(path), nd->num_partitions(),
                                                                  nd->partitioner(), std::move(dir)));
}

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::local_checkpoint() const {
  using R = owned_t<T>;
  static_assert(std::is_copy_constructible_v<R>,
                "local_checkpoint() keeps records in memory and copies them out: the record type "
                "must be copyable (checkpoint() has no such need)");
  auto nd = node();
  auto& eng = *engine();
  auto cp = std::make_shared<detail::LocalCheckpointNode<R>>(eng.next_node_id(), nd->num_partitions(),
                                                             nd->partitioner());
  // Tracked before the job, so that blocks stored by a job that fails are freed with the node.
  eng.track_cached(cp);
  detail::run_partitions(eng, nd,
                         detail::bind_task(
                             [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n, std::uint64_t block) {
                               return detail::store_local_checkpoint(tc, p, n, block);
                             },
                             cp->id()));
  return from_node<R>(cp);
}

// ---- wide operators ----

template <class T, class Stack>
template <class F>
  requires KeyValue<T>
Dataset<std::pair<key_of_t<T>, value_of_t<T>>> Dataset<T, Stack>::reduce_by_key(
    F f, std::size_t partitions) const {
  detail::require_shippable<F>();
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  using Agg = detail::ReduceAgg<F>;
  auto parent = node();
  auto& eng = *engine();
  if (keeps_partitioning(partitions)) {
    static_assert(std::is_same_v<owned_t<T>, std::pair<K, V>>);
    return from_node<std::pair<K, V>>(std::make_shared<detail::LocalAggregatedNode<K, V, V, Agg>>(
        eng.next_node_id(), "reduce_by_key", owned_node(), Agg{f}));
  }
  HashPartitioner part(partitions ? partitions : parent->num_partitions());
  auto dep = std::make_shared<detail::CombiningShuffle<T, Agg, HashPartitioner>>(
      eng.next_shuffle_id(), parent, Agg{f}, part);
  return from_node<std::pair<K, V>>(std::make_shared<detail::AggregatedNode<K, V, V, Agg>>(
      eng.next_node_id(), "reduce_by_key", dep, Agg{f}, std::make_shared<HashPartitioner>(part)));
}

template <class T, class Stack>
template <class C, class Seq, class Comb>
  requires KeyValue<T>
Dataset<std::pair<key_of_t<T>, C>> Dataset<T, Stack>::aggregate_by_key(
    C zero, Seq seq, Comb comb, std::size_t partitions) const {
  detail::require_shippable<Seq>();
  detail::require_shippable<Comb>();
  using K = key_of_t<T>;
  using Agg = detail::AggregateAgg<C, Seq, Comb>;
  auto parent = node();
  HashPartitioner part(partitions ? partitions : parent->num_partitions());
  auto& eng = *engine();
  Agg agg{zero, seq, comb};
  auto dep = std::make_shared<detail::CombiningShuffle<T, Agg, HashPartitioner>>(
      eng.next_shuffle_id(), parent, agg, part);
  return from_node<std::pair<K, C>>(std::make_shared<detail::AggregatedNode<K, C, C, Agg>>(
      eng.next_node_id(), "aggregate_by_key", dep, agg, std::make_shared<HashPartitioner>(part)));
}

template <class T, class Stack>
template <class F, class V>
  requires KeyValue<T>
Dataset<std::pair<key_of_t<T>, V>> Dataset<T, Stack>::fold_by_key(std::type_identity_t<V> zero,
                                                                  F f, std::size_t partitions) const {
  return aggregate_by_key(std::move(zero), f, f, partitions);
}

template <class T, class Stack>
Dataset<std::pair<key_of_t<T>, std::vector<value_of_t<T>>>> Dataset<T, Stack>::group_by_key(
    std::size_t partitions) const
  requires KeyValue<T>
{
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  using Agg = detail::GroupAgg<V>;
  auto parent = node();
  auto& eng = *engine();
  if (keeps_partitioning(partitions)) {
    static_assert(std::is_same_v<owned_t<T>, std::pair<K, V>>);
    return from_node<std::pair<K, std::vector<V>>>(
        std::make_shared<detail::LocalAggregatedNode<K, std::vector<V>, V, Agg>>(eng.next_node_id(), "group_by_key",
                                                                                 owned_node(), Agg{}));
  }
  HashPartitioner part(partitions ? partitions : parent->num_partitions());
  auto dep = std::make_shared<detail::PlainShuffle<T, detail::KeyBucket<HashPartitioner>>>(
      eng.next_shuffle_id(), parent, part.num_partitions(), detail::KeyBucket<HashPartitioner>{part});
  return from_node<std::pair<K, std::vector<V>>>(
      std::make_shared<detail::AggregatedNode<K, std::vector<V>, V, Agg>>(
          eng.next_node_id(), "group_by_key", dep, Agg{}, std::make_shared<HashPartitioner>(part)));
}

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::distinct(std::size_t partitions) const {
  return map(detail::WithFlag{}).reduce_by_key(detail::KeepFirst{}, partitions).keys();
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
auto Dataset<T, Stack>::cogroup(const Dataset<U, S>& other, std::size_t partitions) const {
  static_assert(detail::is_pair<U>::value, "cogroup/join: the other dataset must hold pairs");
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  using W = value_of_t<U>;
  static_assert(std::is_same_v<K, key_of_t<U>>,
                "cogroup/join: both datasets must have the same key type");
  detail::require_same_context(engine().get(), other.engine().get(), "cogroup/join");
  auto& eng = *engine();
  auto lp = known_partitioner();
  auto rp = other.known_partitioner();
  auto fits = [partitions](const std::shared_ptr<const PartitionerBase>& p) {
    return p && (partitions == 0 || partitions == p->num_partitions());
  };
  auto is_hash = [](const std::shared_ptr<const PartitionerBase>& p) {
    return dynamic_cast<const HashPartitioner*>(p.get()) != nullptr;
  };
  std::shared_ptr<const PartitionerBase> part;
  bool left_narrow = false, right_narrow = false;
  if (fits(lp) && rp && lp->same_as(*rp)) {
    part = lp;
    left_narrow = right_narrow = true;
  } else if (fits(lp) && is_hash(lp)) {
    part = lp;
    left_narrow = true;
  } else if (fits(rp) && is_hash(rp)) {
    part = rp;
    right_narrow = true;
  } else {
    std::size_t n = partitions ? partitions
                               : std::max(node()->num_partitions(), other.node()->num_partitions());
    part = std::make_shared<HashPartitioner>(n);
  }
  auto bucket = [&] {
    return detail::KeyBucket<HashPartitioner>{HashPartitioner(part->num_partitions())};
  };
  detail::CoGroupInput<K, V> left;
  if (left_narrow) {
    left.narrow = owned_node();
  } else {
    left.shuffle = std::make_shared<detail::PlainShuffle<T, detail::KeyBucket<HashPartitioner>>>(
        eng.next_shuffle_id(), node(), part->num_partitions(), bucket());
  }
  detail::CoGroupInput<K, W> right;
  if (right_narrow) {
    right.narrow = other.owned_node();
  } else {
    right.shuffle = std::make_shared<detail::PlainShuffle<U, detail::KeyBucket<HashPartitioner>>>(
        eng.next_shuffle_id(), other.node(), part->num_partitions(), bucket());
  }
  using Out = typename detail::CoGroupNode<K, V, W>::Out;
  return from_node<Out>(std::make_shared<detail::CoGroupNode<K, V, W>>(
      eng.next_node_id(), part->num_partitions(), std::move(left), std::move(right), part));
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
auto Dataset<T, Stack>::join(const Dataset<U, S>& other, std::size_t partitions) const {
  auto g = cogroup(other, partitions);
  return wrap(g.core_.then(detail::JoinExpandOp<detail::InnerJoin>{}));
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
auto Dataset<T, Stack>::left_outer_join(const Dataset<U, S>& other, std::size_t partitions) const {
  auto g = cogroup(other, partitions);
  return wrap(g.core_.then(detail::JoinExpandOp<detail::LeftOuterJoin>{}));
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
auto Dataset<T, Stack>::right_outer_join(const Dataset<U, S>& other, std::size_t partitions) const {
  auto g = cogroup(other, partitions);
  return wrap(g.core_.then(detail::JoinExpandOp<detail::RightOuterJoin>{}));
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
auto Dataset<T, Stack>::full_outer_join(const Dataset<U, S>& other, std::size_t partitions) const {
  auto g = cogroup(other, partitions);
  return wrap(g.core_.then(detail::JoinExpandOp<detail::FullOuterJoin>{}));
}

template <class T, class Stack>
template <class Less>
  requires KeyValue<T>
Dataset<owned_t<T>> Dataset<T, Stack>::sort_by_key(bool ascending, std::size_t partitions,
                                                   Less less) const {
  detail::require_shippable<Less>();
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  using R = std::pair<K, V>;
  auto parent = owned_node();
  auto& eng = *engine();
  std::size_t n = partitions ? partitions : std::max<std::size_t>(1, parent->num_partitions());
  std::vector<K> bounds;
  if (n > 1) {
    // Sample keys (reservoir per partition, deterministic seed) and cut at weighted quantiles,
    // as Spark's RangePartitioner does.
    std::size_t per = std::max<std::size_t>(20, (60 * n + parent->num_partitions() - 1) /
                                                    std::max<std::size_t>(1, parent->num_partitions()));
    auto samples = detail::run_partitions(
        eng, parent, [per](detail::TaskContext& tc, std::size_t p, detail::Node<R>& node) {
          std::vector<K> keep;
          std::uint64_t seen = 0;
          detail::SplitMix64 rng(detail::hash_combine(0x5a3d1e, p));
          detail::for_each_record(tc, p, node, [&](R&& r) {
            if (keep.size() < per) {
              keep.push_back(std::move(r.first));
            } else {
              std::uint64_t j = rng.next() % (seen + 1);
              if (j < per) keep[j] = std::move(r.first);
            }
            ++seen;
          });
          return std::pair<std::uint64_t, std::vector<K>>(seen, std::move(keep));
        });
    std::vector<std::pair<K, double>> weighted;
    double total = 0;
    for (auto& [seen, keys] : samples) {
      if (keys.empty()) continue;
      double w = static_cast<double>(seen) / static_cast<double>(keys.size());
      for (auto& k : keys) weighted.emplace_back(std::move(k), w);
      total += static_cast<double>(seen);
    }
    std::stable_sort(weighted.begin(), weighted.end(),
                     [&less](const auto& a, const auto& b) { return less(a.first, b.first); });
    double step = total / static_cast<double>(n), acc = 0, target = step;
    for (auto& [k, w] : weighted) {
      acc += w;
      if (acc >= target && bounds.size() + 1 < n) {
        if (bounds.empty() || less(bounds.back(), k)) bounds.push_back(k);
        target += step;
      }
    }
  }
  // Bounds stay ascending for a descending sort: the partitioner numbers partitions from the top.
  auto part = std::make_shared<RangePartitioner<K, Less>>(bounds, ascending, less);
  using Bucket = detail::KeyBucket<RangePartitioner<K, Less>>;
  auto dep = std::make_shared<detail::PlainShuffle<R, Bucket>>(eng.next_shuffle_id(), parent,
                                                               part->num_partitions(), Bucket{*part});
  return from_node<R>(std::make_shared<detail::SortedNode<K, V, Less>>(eng.next_node_id(), dep,
                                                                       ascending, less, part));
}

template <class T, class Stack>
template <class F>
Dataset<owned_t<T>> Dataset<T, Stack>::sort_by(F f, bool ascending, std::size_t partitions) const {
  return key_by(f).sort_by_key(ascending, partitions).values();
}

template <class T, class Stack>
template <class P>
  requires KeyValue<T>
Dataset<owned_t<T>> Dataset<T, Stack>::partition_by(P partitioner) const {
  static_assert(std::is_base_of_v<PartitionerBase, P>,
                "partition_by takes a spate partitioner (HashPartitioner, RangePartitioner, or a "
                "class derived from spate::PartitionerBase)");
  auto known = known_partitioner();
  if (known && known->same_as(partitioner)) return from_node<owned_t<T>>(owned_node());
  auto& eng = *engine();
  auto shared = std::make_shared<P>(partitioner);
  using Bucket = detail::KeyBucket<P>;
  auto dep = std::make_shared<detail::PlainShuffle<T, Bucket>>(
      eng.next_shuffle_id(), node(), shared->num_partitions(), Bucket{partitioner});
  return from_node<owned_t<T>>(std::make_shared<detail::ShuffleReadNode<owned_t<T>>>(
      eng.next_node_id(), "partition_by", dep, shared));
}

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::repartition(std::size_t n) const {
  if (n == 0) throw config_error("repartition: the number of partitions must be at least 1");
  auto& eng = *engine();
  auto dep = std::make_shared<detail::PlainShuffle<T, detail::RoundRobinBucket>>(
      eng.next_shuffle_id(), node(), n, detail::RoundRobinBucket{n});
  return from_node<owned_t<T>>(std::make_shared<detail::ShuffleReadNode<owned_t<T>>>(
      eng.next_node_id(), "repartition", dep, nullptr));
}

// ---- actions ----

template <class T, class Stack>
JobHandle<std::vector<owned_t<T>>> Dataset<T, Stack>::collect_async() const {
  return detail::run_partitions_async(
      engine(), node(),
      [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n) {
        std::vector<owned_t<T>> v;
        detail::for_each_record(tc, p, n, [&v](T&& x) { v.push_back(to_owned_move(std::move(x))); });
        return v;
      },
      [](std::vector<std::vector<owned_t<T>>>&& parts) {
        std::vector<owned_t<T>> all;
        std::size_t total = 0;
        for (const auto& v : parts) total += v.size();
        all.reserve(total);
        for (auto& v : parts) std::move(v.begin(), v.end(), std::back_inserter(all));
        return all;
      });
}

template <class T, class Stack>
std::vector<owned_t<T>> Dataset<T, Stack>::collect() const {
  return collect_async().get();
}

template <class T, class Stack>
JobHandle<std::size_t> Dataset<T, Stack>::count_async() const {
  return detail::run_partitions_async(
      engine(), node(),
      [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n) {
        std::size_t c = 0;
        detail::for_each_record(tc, p, n, [&c](T&&) { ++c; });
        return c;
      },
      [](std::vector<std::size_t>&& parts) {
        std::size_t total = 0;
        for (auto c : parts) total += c;
        return total;
      });
}

template <class T, class Stack>
std::size_t Dataset<T, Stack>::count() const {
  return count_async().get();
}

template <class T, class Stack>
template <class F>
owned_t<T> Dataset<T, Stack>::reduce(F f) const {
  detail::require_shippable<F>();
  using O = owned_t<T>;
  auto parts = detail::run_partitions(
      *engine(), node(),
      detail::bind_task(
          [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n, F& g) {
            std::optional<O> acc;
            detail::for_each_record(tc, p, n, [&](T&& x) {
              if (acc) acc = g(std::move(*acc), to_owned_move(std::move(x)));
              else acc.emplace(to_owned_move(std::move(x)));
            });
            return acc;
          },
          f));
  std::optional<O> acc;
  for (auto& r : parts) {
    if (!r) continue;
    if (acc) acc = f(std::move(*acc), std::move(*r));
    else acc = std::move(r);
  }
  if (!acc) throw error("reduce: the dataset is empty (use fold with a zero value instead)");
  return std::move(*acc);
}

template <class T, class Stack>
template <class F>
owned_t<T> Dataset<T, Stack>::fold(owned_t<T> zero, F f) const {
  return aggregate(zero, f, f);
}

template <class T, class Stack>
template <class Z, class Seq, class Comb>
Z Dataset<T, Stack>::aggregate(Z zero, Seq seq, Comb comb) const {
  detail::require_shippable<Seq>();
  auto parts = detail::run_partitions(
      *engine(), node(),
      detail::bind_task(
          [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n, const Z& z, Seq& s) {
            Z acc = z;
            detail::for_each_record(tc, p, n, [&](T&& x) { acc = s(std::move(acc), std::move(x)); });
            return acc;
          },
          zero, seq));
  Z acc = zero;
  for (auto& r : parts) acc = comb(std::move(acc), std::move(r));
  return acc;
}

template <class T, class Stack>
std::vector<owned_t<T>> Dataset<T, Stack>::take(std::size_t n) const {
  std::vector<owned_t<T>> out;
  auto nd = node();
  std::size_t total = nd->num_partitions(), next = 0, batch = 1;
  while (out.size() < n && next < total) {
    std::vector<std::size_t> parts;
    for (std::size_t i = 0; i < batch && next < total; ++i) parts.push_back(next++);
    std::size_t want = n - out.size();
    auto got = detail::run_partitions(
        *engine(), nd,
        [want](detail::TaskContext& tc, std::size_t p, detail::Node<T>& node) {
          std::vector<owned_t<T>> v;
          detail::for_each_record(tc, p, node, [&](T&& x) {
            if (v.size() < want) v.push_back(to_owned_move(std::move(x)));
          });
          return v;
        },
        parts);
    for (auto& v : got)
      for (auto& x : v)
        if (out.size() < n) out.push_back(std::move(x));
    batch *= 4;
  }
  return out;
}

template <class T, class Stack>
owned_t<T> Dataset<T, Stack>::first() const {
  auto v = take(1);
  if (v.empty()) throw error("first: the dataset is empty");
  return std::move(v.front());
}

template <class T, class Stack>
template <class Less>
std::vector<owned_t<T>> Dataset<T, Stack>::top(std::size_t n, Less less) const {
  detail::require_shippable<Less>();
  using O = owned_t<T>;
  auto parts = detail::run_partitions(
      *engine(), node(),
      detail::bind_task(
          [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& nd, std::size_t k, Less& lt) {
            return detail::largest_sorted<O>(
                k, lt, [&](auto&& keep) {
                  detail::for_each_record(tc, p, nd,
                                          [&](T&& rec) { keep(to_owned_move(std::move(rec))); });
                });
          },
          n, less));
  return detail::merge_largest(std::move(parts), n, less);
}

template <class T, class Stack>
template <class Less>
std::vector<owned_t<T>> Dataset<T, Stack>::take_ordered(std::size_t n, Less less) const {
  detail::require_shippable<Less>();
  auto reversed = [less](const owned_t<T>& a, const owned_t<T>& b) { return less(b, a); };
  detail::require_shippable<decltype(reversed)>();
  return top(n, reversed);
}

template <class T, class Stack>
std::map<key_of_t<T>, std::size_t> Dataset<T, Stack>::count_by_key() const
  requires KeyValue<T>
{
  std::map<key_of_t<T>, std::size_t> out;
  for (auto& [k, c] : map(detail::KeyWithOne{}).reduce_by_key(std::plus<>{}).collect())
    out.emplace(std::move(k), c);
  return out;
}

template <class T, class Stack>
std::map<owned_t<T>, std::size_t> Dataset<T, Stack>::count_by_value() const {
  std::map<owned_t<T>, std::size_t> out;
  for (auto& [k, c] : map(detail::WithOne{}).reduce_by_key(std::plus<>{}).collect())
    out.emplace(std::move(k), c);
  return out;
}

template <class T, class Stack>
template <class F>
JobHandle<void> Dataset<T, Stack>::foreach_async(F f) const {
  detail::require_shippable<F>();
  return detail::run_partitions_async(
      engine(), node(),
      detail::bind_task(
          [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n, F& g) {
            detail::for_each_record(tc, p, n, [&g](T&& x) { g(std::move(x)); });
            return true;
          },
          f),
      [](std::vector<bool>&&) {});
}

template <class T, class Stack>
template <class F>
void Dataset<T, Stack>::foreach(F f) const {
  foreach_async(std::move(f)).get();
}

template <class T, class Stack>
template <class F>
void Dataset<T, Stack>::foreach_partition(F f) const {
  detail::require_shippable<F>();
  detail::run_partitions(
      *engine(), owned_node(),
      detail::bind_task(
          [](detail::TaskContext& tc, std::size_t p, detail::Node<owned_t<T>>& n, F& g) {
            std::vector<owned_t<T>> v;
            detail::for_each_record(tc, p, n, [&v](owned_t<T>&& x) { v.push_back(std::move(x)); });
            g(p, std::move(v));
            return true;
          },
          f));
}

template <class T, class Stack>
void Dataset<T, Stack>::save_as_text_file(const std::string& dir) const {
  save_as_text_file(dir, detail::TextFormat{});
}

template <class T, class Stack>
void Dataset<T, Stack>::save_as_text_file(const std::string& dir,
                                          const TextOutputOptions& options) const {
  save_as_text_file(dir, detail::TextFormat{}, options);
}

template <class T, class Stack>
template <class F>
  requires(!std::is_convertible_v<F, TextOutputOptions>)
void Dataset<T, Stack>::save_as_text_file(const std::string& dir, F format,
                                          const TextOutputOptions& options) const {
  detail::require_shippable<F>();
  detail::check_text_output_options(options);
  auto nd = node();
  detail::TextOutputHandler<T, F> handler(dir, nd, std::move(format), options);
  engine()->run_job(nd, handler);
}

template <class T, class Stack>
void Dataset<T, Stack>::save_as_object_file(const std::string& dir) const {
  static_assert(is_serializable_v<owned_t<T>>,
                "save_as_object_file writes records in spate's binary encoding: the record type "
                "must be serializable (see spate/serialization.hpp)");
  auto nd = node();
  detail::ObjectFileOutputHandler<T> handler(dir, nd);
  engine()->run_job(nd, handler);
}

}  // namespace spate

#include "spate/detail/dataset_pairing.hpp"
#include "spate/detail/dataset_sampling.hpp"
#include "spate/detail/dataset_set_ops.hpp"
#include "spate/detail/dataset_summaries.hpp"
