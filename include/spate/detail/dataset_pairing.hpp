// Definitions of the Dataset operators that number records or pair partitions: zip_with_unique_id,
// glom, zip, zip_partitions and cartesian (declared in dataset.hpp).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "spate/dataset.hpp"
#include "spate/detail/pairing_nodes.hpp"
#include "spate/detail/partition_nodes.hpp"

namespace spate {

namespace detail {
/// map_partitions function of glom: the whole partition as one record.
struct Glom {
  template <class T>
  std::vector<std::vector<T>> operator()(std::size_t, std::vector<T>&& records) const {
    std::vector<std::vector<T>> one;
    one.push_back(std::move(records));
    return one;
  }
};
}  // namespace detail

template <class T, class Stack>
Dataset<std::pair<owned_t<T>, std::uint64_t>> Dataset<T, Stack>::zip_with_unique_id() const {
  auto parent = owned_node();
  const std::size_t n = parent->num_partitions();
  std::vector<std::uint64_t> starts(n);
  for (std::size_t p = 0; p < n; ++p) starts[p] = p;
  return from_node<std::pair<owned_t<T>, std::uint64_t>>(
      std::make_shared<detail::ZipWithIndexNode<owned_t<T>>>(engine()->next_node_id(), parent,
                                                             std::move(starts), std::max<std::size_t>(n, 1)));
}

template <class T, class Stack>
Dataset<std::vector<owned_t<T>>> Dataset<T, Stack>::glom() const {
  return map_partitions(detail::Glom{});
}

template <class T, class Stack>
template <class U, class S>
Dataset<std::pair<owned_t<T>, owned_t<U>>> Dataset<T, Stack>::zip(const Dataset<U, S>& other) const {
  detail::require_same_context(engine().get(), other.engine().get(), "zip");
  using A = owned_t<T>;
  using B = owned_t<U>;
  return from_node<std::pair<A, B>>(std::make_shared<detail::ZipNode<A, B>>(
      engine()->next_node_id(), owned_node(), other.owned_node()));
}

template <class T, class Stack>
template <class U, class S, class F>
auto Dataset<T, Stack>::zip_partitions(const Dataset<U, S>& other, F f) const {
  detail::require_shippable<F>();
  detail::require_same_context(engine().get(), other.engine().get(), "zip_partitions");
  using A = owned_t<T>;
  using B = owned_t<U>;
  using R = std::invoke_result_t<F&, std::size_t, std::vector<A>&&, std::vector<B>&&>;
  using V = std::remove_cvref_t<std::ranges::range_value_t<R>>;
  return from_node<V>(std::make_shared<detail::ZipPartitionsNode<A, B, V, F>>(
      engine()->next_node_id(), owned_node(), other.owned_node(), std::move(f)));
}

template <class T, class Stack>
template <class U, class S>
Dataset<std::pair<owned_t<T>, owned_t<U>>> Dataset<T, Stack>::cartesian(const Dataset<U, S>& other) const {
  detail::require_same_context(engine().get(), other.engine().get(), "cartesian");
  using A = owned_t<T>;
  using B = owned_t<U>;
  return from_node<std::pair<A, B>>(std::make_shared<detail::CartesianNode<A, B>>(
      engine()->next_node_id(), owned_node(), other.owned_node()));
}

}  // namespace spate
