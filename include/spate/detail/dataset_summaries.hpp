// Definitions of the Dataset actions that summarise records: is_empty, tree_aggregate,
// tree_reduce, max, min, sum, stats, mean, histogram, count_approx_distinct(_by_key), lookup,
// collect_as_map and to_local_iterator (declared in dataset.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spate/dataset.hpp"
#include "spate/detail/hyperloglog.hpp"
#include "spate/detail/partition_nodes.hpp"
#include "spate/detail/run_partitions.hpp"
#include "spate/error.hpp"
#include "spate/hash.hpp"

namespace spate {

namespace detail {

/// A user function held by a spate function object, shipped the way the user's own would be.
template <class Self, class F>
struct HoldsFunction {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static Self load_state(Reader& r) { return Self{{detail::load_state<F>(r)}}; }
};

/// (a, b) -> the larger by less (a on ties).
template <class Less>
struct LargerOf : HoldsFunction<LargerOf<Less>, Less> {
  template <class X>
  X operator()(X a, X b) const {
    return this->f(a, b) ? std::move(b) : std::move(a);
  }
};

/// (a, b) -> the smaller by less (a on ties).
template <class Less>
struct SmallerOf : HoldsFunction<SmallerOf<Less>, Less> {
  template <class X>
  X operator()(X a, X b) const {
    return this->f(b, a) ? std::move(b) : std::move(a);
  }
};

/// tree_reduce's steps: a reduction that may not have started yet.
template <class F>
struct OptionalReduce : HoldsFunction<OptionalReduce<F>, F> {
  template <class O, class X>
  std::optional<O> operator()(std::optional<O> acc, X&& x) const {
    if constexpr (std::is_same_v<std::remove_cvref_t<X>, std::optional<O>>) {
      if (!x) return acc;
      if (!acc) return std::move(x);
      return this->f(std::move(*acc), std::move(*x));
    } else {
      if (!acc) return O(to_owned_move(std::forward<X>(x)));
      return this->f(std::move(*acc), to_owned_move(std::forward<X>(x)));
    }
  }
};

/// Stats steps.
struct StatsAdd {
  template <class X>
  Stats operator()(Stats s, const X& x) const {
    s.add(static_cast<double>(x));
    return s;
  }
};
struct StatsMerge {
  Stats operator()(Stats a, const Stats& b) const {
    a.merge(b);
    return a;
  }
};

/// The bucket of x among bounds (strictly increasing, at least two): i for bounds[i] <= x <
/// bounds[i + 1], the last bucket closed; nullopt outside them and for NaN.
std::optional<std::size_t> histogram_bucket(const std::vector<double>& bounds, double x) noexcept;

/// Throws config_error unless bounds are at least two, strictly increasing, none NaN.
void check_histogram_bounds(const std::vector<double>& bounds);

/// bucket_count evenly spaced bounds from min to max (Spark's: min + i * (max - min) / n, then
/// max); {min, min} when they are equal.
std::vector<double> even_histogram_bounds(double min, double max, std::size_t bucket_count);

/// Histogram steps: counts per bucket of fixed bounds.
struct BucketCount {
  std::vector<double> bounds;
  template <class X>
  std::vector<std::uint64_t> operator()(std::vector<std::uint64_t> counts, const X& x) const {
    if (auto b = histogram_bucket(bounds, static_cast<double>(x))) ++counts[*b];
    return counts;
  }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & bounds;
  }
};
struct AddCounts {
  std::vector<std::uint64_t> operator()(std::vector<std::uint64_t> a,
                                        const std::vector<std::uint64_t>& b) const {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] += b[i];
    return a;
  }
};

/// HyperLogLog steps. Hashes are mixed once more, so that the summary's bits do not follow
/// those a hash partitioner used to place the same records.
struct HllAdd {
  template <class X>
  HyperLogLog operator()(HyperLogLog h, const X& x) const {
    h.add(mix64(stable_hash<std::remove_cvref_t<X>>{}(x) ^ 0x5bd1e9955bd1e995ULL));
    return h;
  }
};
struct HllMerge {
  HyperLogLog operator()(HyperLogLog a, const HyperLogLog& b) const {
    a.merge(b);
    return a;
  }
};
struct HllEstimate {
  std::uint64_t operator()(const HyperLogLog& h) const { return h.estimate(); }
};

/// map_partitions function of tree_aggregate's levels: each partial result keyed by its
/// partition's index modulo the next level's partition count.
struct KeyByPartition {
  std::uint64_t modulo;
  template <class Z>
  std::vector<std::pair<std::uint64_t, Z>> operator()(std::size_t p, std::vector<Z>&& partials) const {
    std::vector<std::pair<std::uint64_t, Z>> out;
    for (Z& z : partials) out.emplace_back(p % modulo, std::move(z));
    return out;
  }
};

}  // namespace detail

template <class T, class Stack>
bool Dataset<T, Stack>::is_empty() const {
  return num_partitions() == 0 || take(1).empty();
}

template <class T, class Stack>
template <class Z, class Seq, class Comb>
Z Dataset<T, Stack>::tree_aggregate(Z zero, Seq seq, Comb comb, int depth) const {
  detail::require_shippable<Seq>();
  detail::require_shippable<Comb>();
  if (depth < 1) {
    throw config_error("tree_aggregate: depth must be at least 1, not " + std::to_string(depth));
  }
  auto nd = node();
  std::size_t parts = nd->num_partitions();
  if (parts == 0) return zero;
  Dataset<Z> level = from_node<Z>(std::make_shared<detail::PartitionAggregateNode<T, Z, Seq>>(
      engine()->next_node_id(), nd, zero, seq));
  // Spark's shape: each level merges `scale` partial results into one, on the executors, until
  // a level would save no more than it costs.
  const auto scale = std::max<std::size_t>(
      static_cast<std::size_t>(std::ceil(std::pow(static_cast<double>(parts), 1.0 / depth))), 2);
  while (parts > scale + (parts + scale - 1) / scale) {
    parts /= scale;
    level = level.map_partitions(detail::KeyByPartition{parts}).reduce_by_key(comb, parts).values();
  }
  Z acc = std::move(zero);
  for (Z& z : level.collect()) acc = comb(std::move(acc), std::move(z));
  return acc;
}

template <class T, class Stack>
template <class F>
owned_t<T> Dataset<T, Stack>::tree_reduce(F f, int depth) const {
  detail::require_shippable<F>();
  using O = owned_t<T>;
  detail::OptionalReduce<F> step{{f}};
  std::optional<O> result = tree_aggregate(std::optional<O>{}, step, step, depth);
  if (!result) throw error("tree_reduce: the dataset is empty (use tree_aggregate with a zero value)");
  return std::move(*result);
}

template <class T, class Stack>
template <class Less>
owned_t<T> Dataset<T, Stack>::max(Less less) const {
  detail::require_shippable<Less>();
  if (is_empty()) throw error("max: the dataset is empty");
  return reduce(detail::LargerOf<Less>{{less}});
}

template <class T, class Stack>
template <class Less>
owned_t<T> Dataset<T, Stack>::min(Less less) const {
  detail::require_shippable<Less>();
  if (is_empty()) throw error("min: the dataset is empty");
  return reduce(detail::SmallerOf<Less>{{less}});
}

template <class T, class Stack>
owned_t<T> Dataset<T, Stack>::sum() const
  requires std::is_arithmetic_v<owned_t<T>>
{
  return fold(owned_t<T>{}, std::plus<>{});
}

template <class T, class Stack>
Stats Dataset<T, Stack>::stats() const
  requires std::is_arithmetic_v<owned_t<T>>
{
  return aggregate(Stats{}, detail::StatsAdd{}, detail::StatsMerge{});
}

template <class T, class Stack>
double Dataset<T, Stack>::mean() const
  requires std::is_arithmetic_v<owned_t<T>>
{
  return stats().mean();
}

template <class T, class Stack>
std::pair<std::vector<double>, std::vector<std::uint64_t>> Dataset<T, Stack>::histogram(
    std::size_t bucket_count) const
  requires std::is_arithmetic_v<owned_t<T>>
{
  if (bucket_count == 0) throw config_error("histogram: bucket_count must be at least 1");
  const Stats s = stats();
  if (s.count() == 0 || std::isnan(s.sum()) || !std::isfinite(s.min()) || !std::isfinite(s.max())) {
    throw error("histogram: the dataset is empty or holds NaN or an infinity, so it has no range "
                "to divide into buckets (give the bounds instead)");
  }
  std::vector<double> bounds = detail::even_histogram_bounds(s.min(), s.max(), bucket_count);
  std::vector<std::uint64_t> counts = histogram(bounds);
  return {std::move(bounds), std::move(counts)};
}

template <class T, class Stack>
std::vector<std::uint64_t> Dataset<T, Stack>::histogram(const std::vector<double>& bounds) const
  requires std::is_arithmetic_v<owned_t<T>>
{
  // {x, x} is the one-bucket range of a dataset whose records are all x.
  if (!(bounds.size() == 2 && bounds[0] == bounds[1])) detail::check_histogram_bounds(bounds);
  return aggregate(std::vector<std::uint64_t>(bounds.size() - 1, 0), detail::BucketCount{bounds},
                   detail::AddCounts{});
}

template <class T, class Stack>
std::uint64_t Dataset<T, Stack>::count_approx_distinct(double relative_sd) const {
  const int precision = detail::HyperLogLog::precision_for(relative_sd);
  return aggregate(detail::HyperLogLog(precision), detail::HllAdd{}, detail::HllMerge{}).estimate();
}

template <class T, class Stack>
Dataset<std::pair<key_of_t<T>, std::uint64_t>> Dataset<T, Stack>::count_approx_distinct_by_key(
    double relative_sd, std::size_t partitions) const
  requires KeyValue<T>
{
  const int precision = detail::HyperLogLog::precision_for(relative_sd);
  return aggregate_by_key(detail::HyperLogLog(precision), detail::HllAdd{}, detail::HllMerge{},
                          partitions)
      .map_values(detail::HllEstimate{});
}

template <class T, class Stack>
template <class K>
std::vector<value_of_t<T>> Dataset<T, Stack>::lookup(const std::type_identity_t<K>& key) const
  requires KeyValue<T>
{
  using V = value_of_t<T>;
  auto collect_values = [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n, const K& k) {
    std::vector<V> values;
    detail::for_each_record(tc, p, n, [&](T&& r) {
      if (r.first == k) values.push_back(to_owned_move(std::move(r.second)));
    });
    return values;
  };
  auto nd = node();
  std::vector<std::size_t> parts;  // empty: all of them
  if (auto* hash = dynamic_cast<const HashPartitioner*>(known_partitioner().get())) {
    parts.push_back((*hash)(key));
  }
  std::vector<V> out;
  for (auto& values : detail::run_partitions(*engine(), nd, detail::bind_task(collect_values, key), parts)) {
    std::move(values.begin(), values.end(), std::back_inserter(out));
  }
  return out;
}

template <class T, class Stack>
std::map<key_of_t<T>, value_of_t<T>> Dataset<T, Stack>::collect_as_map() const
  requires KeyValue<T>
{
  std::map<key_of_t<T>, value_of_t<T>> out;
  for (auto& [k, v] : collect()) out.insert_or_assign(std::move(k), std::move(v));
  return out;
}

template <class T, class Stack>
LocalIterator<owned_t<T>> Dataset<T, Stack>::to_local_iterator() const {
  using O = owned_t<T>;
  auto nd = node();
  std::shared_ptr<detail::Engine> eng = engine();
  auto fetch = [eng, nd](std::size_t p) {
    auto parts = detail::run_partitions(
        *eng, nd,
        [](detail::TaskContext& tc, std::size_t q, detail::Node<T>& n) {
          std::vector<O> v;
          detail::for_each_record(tc, q, n, [&v](T&& x) { v.push_back(to_owned_move(std::move(x))); });
          return v;
        },
        std::vector<std::size_t>{p});
    return std::move(parts.front());
  };
  return LocalIterator<O>(fetch, nd->num_partitions());
}

}  // namespace spate
