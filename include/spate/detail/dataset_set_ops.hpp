// Definitions of the Dataset operators built on grouping by key: group_by, filter_by_range,
// intersection, subtract, subtract_by_key, cogroup with two or three others and
// repartition_and_sort_within_partitions (declared in dataset.hpp).
#pragma once

#include <algorithm>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/dataset.hpp"
#include "spate/detail/aggregators.hpp"
#include "spate/detail/partition_nodes.hpp"
#include "spate/detail/shuffle_nodes.hpp"
#include "spate/partitioner.hpp"

namespace spate {

namespace detail {
/// Keeps records whose key is in [lower, upper].
template <class K>
struct KeyInRange {
  K lower;
  K upper;
  template <class R>
  bool operator()(const R& r) const {
    return !(r.first < lower) && !(upper < r.first);
  }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & lower & upper;
  }
};

/// Keeps the groups of a two-way cogroup that both sides hold.
struct BothSidesHold {
  template <class G>
  bool operator()(const G& g) const {
    return !g.second.first.empty() && !g.second.second.empty();
  }
};

/// For a two-way cogroup's group: each left (key, value) when the right side has none.
struct LeftWhereRightEmpty {
  template <class G, class E>
  void operator()(G&& g, E& emit) const {
    if (!g.second.second.empty()) return;
    using K = std::remove_cvref_t<decltype(g.first)>;
    using V = typename std::remove_cvref_t<decltype(g.second.first)>::value_type;
    for (auto&& v : g.second.first) emit(std::pair<K, V>(g.first, V(std::move(v))));
  }
};

/// x -> (x, unit) for the right side of subtract_by_key, whose values are never used.
struct KeyOnly {
  template <class P>
  std::pair<typename std::remove_cvref_t<P>::first_type, bool> operator()(P&& p) const {
    return {std::forward<P>(p).first, false};
  }
};

/// A cogroup of a cogroup and one more side: ((vectors so far), new vector) -> one tuple. The
/// inner group holds at most one entry per key (the inner cogroup's one group).
struct FlattenCoGroup {
  template <class A, class B>
  static std::tuple<A, B> as_tuple(std::pair<A, B>&& p) {
    return {std::move(p.first), std::move(p.second)};
  }
  template <class... Xs>
  static std::tuple<Xs...> as_tuple(std::tuple<Xs...>&& t) {
    return std::move(t);
  }
  template <class G>
  auto operator()(G&& v) const {
    using Inner = typename std::remove_cvref_t<decltype(v.first)>::value_type;
    using Last = std::remove_cvref_t<decltype(v.second)>;
    Inner inner = v.first.empty() ? Inner{} : Inner(std::move(v.first.front()));
    return std::tuple_cat(as_tuple(std::move(inner)), std::tuple<Last>(std::move(v.second)));
  }
};
}  // namespace detail

template <class T, class Stack>
template <class F>
auto Dataset<T, Stack>::group_by(F f, std::size_t partitions) const {
  Dataset<owned_t<T>> owned = from_node<owned_t<T>>(owned_node());
  return owned.key_by(std::move(f)).group_by_key(partitions);
}

template <class T, class Stack>
template <class K>
auto Dataset<T, Stack>::filter_by_range(const std::type_identity_t<K>& lower,
                                        const std::type_identity_t<K>& upper) const
  requires KeyValue<T>
{
  using R = owned_t<T>;
  using Key = key_of_t<R>;
  std::shared_ptr<detail::Node<R>> node = owned_node();
  // As Spark's filterByRange: a dataset range-partitioned by sort_by_key reads only the
  // partitions its range can hold, and keeps a partitioner of those alone.
  if constexpr (std::is_constructible_v<Key, const K&>) {
    if (auto range = std::dynamic_pointer_cast<const RangePartitioner<Key>>(node->partitioner())) {
      std::size_t a = (*range)(Key(lower)), b = (*range)(Key(upper));
      std::size_t first = std::min(a, b), last = std::max(a, b);
      if (first > 0 || last + 1 < node->num_partitions())
        node = std::make_shared<detail::PartitionRangeNode<R>>(
            engine()->next_node_id(), node, first, last - first + 1,
            std::make_shared<const RangePartitioner<Key>>(range->subrange(first, last)));
    }
  }
  return from_node<R>(node).filter(detail::KeyInRange<K>{lower, upper});
}

template <class T, class Stack>
template <class S>
Dataset<owned_t<T>> Dataset<T, Stack>::intersection(const Dataset<T, S>& other,
                                                    std::size_t partitions) const {
  return map(detail::WithFlag{})
      .cogroup(other.map(detail::WithFlag{}), partitions)
      .filter(detail::BothSidesHold{})
      .keys();
}

template <class T, class Stack>
template <class S>
Dataset<owned_t<T>> Dataset<T, Stack>::subtract(const Dataset<T, S>& other,
                                                std::size_t partitions) const {
  return map(detail::WithFlag{})
      .subtract_by_key(other.map(detail::WithFlag{}), partitions ? partitions : num_partitions())
      .keys();
}

template <class T, class Stack>
template <class U, class S>
  requires KeyValue<T>
Dataset<owned_t<T>> Dataset<T, Stack>::subtract_by_key(const Dataset<U, S>& other,
                                                       std::size_t partitions) const {
  static_assert(detail::is_pair<U>::value, "subtract_by_key: the other dataset must hold pairs");
  using R = std::pair<key_of_t<T>, value_of_t<T>>;
  return cogroup(other.map(detail::KeyOnly{}), partitions ? partitions : num_partitions())
      .template flat_map<R>(detail::LeftWhereRightEmpty{});
}

template <class T, class Stack>
template <class U1, class S1, class U2, class S2>
  requires KeyValue<T>
auto Dataset<T, Stack>::cogroup(const Dataset<U1, S1>& a, const Dataset<U2, S2>& b,
                                std::size_t partitions) const {
  const std::size_t n = partitions ? partitions
                                   : std::max({num_partitions(), a.num_partitions(), b.num_partitions()});
  // The second cogroup finds the first one's result hash-partitioned into n: only b moves.
  return cogroup(a, n).cogroup(b, n).map_values(detail::FlattenCoGroup{});
}

template <class T, class Stack>
template <class U1, class S1, class U2, class S2, class U3, class S3>
  requires KeyValue<T>
auto Dataset<T, Stack>::cogroup(const Dataset<U1, S1>& a, const Dataset<U2, S2>& b,
                                const Dataset<U3, S3>& c, std::size_t partitions) const {
  const std::size_t n =
      partitions ? partitions
                 : std::max({num_partitions(), a.num_partitions(), b.num_partitions(), c.num_partitions()});
  return cogroup(a, b, n).cogroup(c, n).map_values(detail::FlattenCoGroup{});
}

template <class T, class Stack>
template <class P, class Less>
  requires KeyValue<T>
Dataset<owned_t<T>> Dataset<T, Stack>::repartition_and_sort_within_partitions(P partitioner,
                                                                              Less less) const {
  static_assert(std::is_base_of_v<PartitionerBase, P>,
                "repartition_and_sort_within_partitions takes a spate partitioner (HashPartitioner, "
                "RangePartitioner, or a class derived from spate::PartitionerBase)");
  detail::require_shippable<Less>();
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  auto& eng = *engine();
  auto shared = std::make_shared<P>(partitioner);
  using Bucket = detail::KeyBucket<P>;
  auto dep = std::make_shared<detail::PlainShuffle<T, Bucket>>(eng.next_shuffle_id(), node(),
                                                               shared->num_partitions(), Bucket{partitioner});
  return from_node<std::pair<K, V>>(
      std::make_shared<detail::SortedNode<K, V, Less>>(eng.next_node_id(), dep, true, less, shared));
}

}  // namespace spate
