// Definitions of the Dataset operators that sample at random: random_split, sample_by_key and
// take_sample (declared in dataset.hpp). All are deterministic for a seed: draws come from a
// generator seeded by (seed, partition) over records in their fixed partition order.
#pragma once

#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "spate/dataset.hpp"
#include "spate/detail/partition_nodes.hpp"
#include "spate/error.hpp"

namespace spate {

namespace detail {
/// A fraction of `total` records to sample so that at least `wanted` come out with probability
/// 0.9999 (Spark's SamplingUtils.computeFractionForSampleSize: Poisson bounds with replacement,
/// binomial ones without).
inline double fraction_for_sample_size(double wanted, double total, bool with_replacement) {
  if (with_replacement) {
    const double stddevs = wanted < 12 ? 9 : wanted < 20 ? 6 : 5;
    return std::max(wanted + stddevs * std::sqrt(wanted), 1e-10) / total;
  }
  const double fraction = wanted / total;
  const double gamma = -std::log(1e-4) / total;
  return std::min(1.0, fraction + gamma + std::sqrt(gamma * gamma + 2 * gamma * fraction));
}

/// Fisher-Yates shuffle driven by the generator.
template <class T>
void shuffle_in_place(std::vector<T>& v, SplitMix64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(rng.next() % i);
    std::swap(v[i - 1], v[j]);
  }
}
}  // namespace detail

template <class T, class Stack>
std::vector<Dataset<T>> Dataset<T, Stack>::random_split(const std::vector<double>& weights,
                                                        std::uint64_t seed) const {
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || std::isinf(w)) {
      throw config_error("random_split: weights must be finite and non-negative, not " +
                         std::to_string(w));
    }
    total += w;
  }
  if (weights.empty() || !(total > 0)) {
    throw config_error("random_split: the weights must have a positive sum");
  }
  auto parent = node();
  std::vector<Dataset<T>> splits;
  double lower = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    // The last split ends at 1 exactly, so rounding in the sum loses no record.
    const double upper = i + 1 == weights.size() ? 1.0 : lower + weights[i] / total;
    splits.push_back(from_node<T>(std::make_shared<detail::SampleNode<T>>(
        engine()->next_node_id(), parent, false, upper, seed, lower)));
    lower = upper;
  }
  return splits;
}

template <class T, class Stack>
Dataset<owned_t<T>> Dataset<T, Stack>::sample_by_key(bool with_replacement,
                                                     const std::map<key_of_t<T>, double>& fractions,
                                                     std::uint64_t seed) const
  requires KeyValue<T>
{
  for (const auto& [key, f] : fractions) {
    if (!(f >= 0.0) || (!with_replacement && f > 1.0)) {
      throw config_error("sample_by_key: every fraction must be in [0, 1] without replacement "
                         "and >= 0 with it, not " + std::to_string(f));
    }
  }
  using K = key_of_t<T>;
  using V = value_of_t<T>;
  return from_node<std::pair<K, V>>(std::make_shared<detail::SampleByKeyNode<K, V>>(
      engine()->next_node_id(), owned_node(), with_replacement, fractions, seed));
}

template <class T, class Stack>
std::vector<owned_t<T>> Dataset<T, Stack>::take_sample(bool with_replacement, std::size_t n,
                                                       std::uint64_t seed) const {
  using O = owned_t<T>;
  if (n == 0) return {};
  const std::size_t total = count();
  if (total == 0) return {};
  detail::SplitMix64 rng(detail::hash_combine(seed, 0x7a6b5c4dULL));
  if (!with_replacement && n >= total) {
    std::vector<O> all = collect();
    detail::shuffle_in_place(all, rng);
    return all;
  }
  const double fraction = detail::fraction_for_sample_size(static_cast<double>(n),
                                                           static_cast<double>(total), with_replacement);
  // Rarely (1 in 10,000) a sample comes out short: draw again with the next seed.
  std::vector<O> picked;
  do {
    picked = sample(with_replacement, fraction, rng.next()).collect();
  } while (picked.size() < n);
  detail::shuffle_in_place(picked, rng);
  picked.erase(picked.begin() + static_cast<std::ptrdiff_t>(n), picked.end());
  return picked;
}

}  // namespace spate
