// The small function objects spate's own operators are built from (aggregators, pairings).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/detail/state_codec.hpp"

namespace spate::detail {

/// reduce_by_key's aggregation: the combiner is a value, merged with f.
template <class F>
struct ReduceAgg {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static ReduceAgg load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  template <class V>
  std::remove_cvref_t<V> create(V&& v) {
    return std::forward<V>(v);
  }
  template <class V>
  void merge_value(V& c, V&& v) {
    c = f(std::move(c), std::move(v));
  }
  template <class V>
  void merge_combiners(V& c, const V& d) {
    c = f(std::move(c), d);
  }
};

/// aggregate_by_key's aggregation: seq folds values into a copy of zero, comb merges combiners.
template <class C, class Seq, class Comb>
struct AggregateAgg {
  C zero;
  Seq seq;
  Comb comb;
  void save_state(Writer& w) const {
    serialize_to(w, zero);
    detail::save_state(w, seq);
    detail::save_state(w, comb);
  }
  static AggregateAgg load_state(Reader& r) {
    C z = deserialize_from<C>(r);
    Seq s = detail::load_state<Seq>(r);
    return {std::move(z), std::move(s), detail::load_state<Comb>(r)};
  }
  template <class V>
  C create(V&& v) {
    return seq(C(zero), std::forward<V>(v));
  }
  template <class V>
  void merge_value(C& c, V&& v) {
    c = seq(std::move(c), std::forward<V>(v));
  }
  void merge_combiners(C& c, const C& d) { c = comb(std::move(c), d); }
};

/// group_by_key's aggregation: the combiner is the list of values in arrival order.
template <class V>
struct GroupAgg {
  std::vector<V> create(V&& v) {
    std::vector<V> c;
    c.push_back(std::move(v));
    return c;
  }
  void merge_value(std::vector<V>& c, V&& v) { c.push_back(std::move(v)); }
  void merge_combiners(std::vector<V>& c, const std::vector<V>& d) {
    c.insert(c.end(), d.begin(), d.end());
  }
};

/// x -> (x, false): a record as a key with a placeholder value (distinct).
struct WithFlag {
  template <class X>
  std::pair<std::remove_cvref_t<X>, bool> operator()(X&& x) const {
    return {std::forward<X>(x), false};
  }
};

/// (a, b) -> a.
struct KeepFirst {
  template <class A, class B>
  A operator()(A a, const B&) const {
    return a;
  }
};

/// x -> (x, 1).
struct WithOne {
  template <class X>
  std::pair<std::remove_cvref_t<X>, std::size_t> operator()(X&& x) const {
    return {std::forward<X>(x), 1};
  }
};

/// (k, v) -> (k, 1).
struct KeyWithOne {
  template <class P>
  std::pair<typename std::remove_cvref_t<P>::first_type, std::size_t> operator()(P&& p) const {
    return {std::forward<P>(p).first, 1};
  }
};

}  // namespace spate::detail
