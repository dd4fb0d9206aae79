// TableHash and TableEq: the hash and equality of spate's in-task hash tables.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "spate/hash.hpp"

namespace spate::detail {

/// Hash for in-task hash tables: stable_hash rotated, so that keys that share a partition
/// (equal `stable_hash % n`) still spread over the table. Transparent: a std::string table can
/// be probed with a std::string_view without building a string.
struct TableHash {
  using is_transparent = void;
  template <class K>
  std::size_t operator()(const K& k) const noexcept {
    // stable_hash is fully mixed already; the rotation puts bits other than the partitioner's
    // (hash % n) where the table looks, and Boost's own post-mix spreads them.
    std::uint64_t h = stable_hash<K>{}(k);
    return static_cast<std::size_t>((h << 32) | (h >> 32));
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

}  // namespace spate::detail
