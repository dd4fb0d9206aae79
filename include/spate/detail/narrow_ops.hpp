// The narrow operators a fused pipeline is made of; each pushes its output to the next inline.
//
// An op is a small struct holding the user's function. `out_t<X>` is the record type it emits for
// input X; `operator()(x, next)` handles one record and calls `next` zero or more times. A chain
// of ops compiles to one function per stage, so a map-filter-map costs no indirect call per record.
#pragma once

#include <functional>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "spate/detail/state_codec.hpp"
#include "spate/record_traits.hpp"

namespace spate::detail {

/// Calls f with the record as an rvalue when f accepts one, else as an lvalue (for `auto&`).
template <class F, class X>
decltype(auto) invoke_on_record(F& f, X& x) {
  if constexpr (std::is_invocable_v<F&, X&&>) {
    return std::invoke(f, std::move(x));
  } else {
    return std::invoke(f, x);
  }
}

template <class F, class X>
using record_result_t = std::remove_cvref_t<decltype(invoke_on_record(
    std::declval<F&>(), std::declval<X&>()))>;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// The key of a (key, value) record.
struct FirstOf {
  template <class P>
  auto operator()(P&& p) const {
    return std::forward<P>(p).first;
  }
};

/// The value of a (key, value) record.
struct SecondOf {
  template <class P>
  auto operator()(P&& p) const {
    return std::forward<P>(p).second;
  }
};

/// map: one record out per record in.
template <class F>
struct MapOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static MapOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = false;
  static constexpr const char* name = "map";
  template <class X>
  using out_t = record_result_t<F, X>;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    out_t<X> y = invoke_on_record(f, x);
    next(y);
  }
};

/// filter: keeps the records for which f returns true.
template <class F>
struct FilterOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static FilterOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = true;
  static constexpr const char* name = "filter";
  template <class X>
  using out_t = X;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    if (std::invoke(f, std::as_const(x))) next(x);
  }
};

/// flat_map: f returns a range (or std::optional) of records, or, when U is not void, f is
/// called as f(x, emit) and calls emit(U) for each output record.
template <class F, class U>
struct FlatMapOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static FlatMapOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = false;
  static constexpr const char* name = "flat_map";

  template <class X, class V = U>
  struct Out {
    using type = V;
  };
  template <class R, bool = is_optional<R>::value>
  struct Element {
    using type = typename R::value_type;
  };
  template <class R>
  struct Element<R, false> {
    using type = std::remove_cvref_t<std::ranges::range_value_t<R>>;
  };
  template <class X>
  struct Out<X, void> {
    using type = typename Element<record_result_t<F, X>>::type;
  };
  template <class X>
  using out_t = typename Out<X>::type;

  template <class X, class Next>
  void operator()(X& x, Next& next) {
    if constexpr (!std::is_void_v<U>) {
      auto emit = [&next](U y) { next(y); };
      if constexpr (std::is_invocable_v<F&, X&&, decltype(emit)&>) {
        std::invoke(f, std::move(x), emit);
      } else {
        std::invoke(f, x, emit);
      }
    } else {
      auto&& r = invoke_on_record(f, x);
      if constexpr (is_optional<std::remove_cvref_t<decltype(r)>>::value) {
        if (r) next(*r);
      } else {
        for (auto&& y : r) {
          out_t<X> v(std::move(y));
          next(v);
        }
      }
    }
  }
};

/// map_values: (k, v) -> (k, f(v)); keeps the partitioner.
template <class F>
struct MapValuesOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static MapValuesOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = true;
  static constexpr const char* name = "map_values";
  template <class X>
  using out_t =
      std::pair<typename X::first_type, record_result_t<F, typename X::second_type>>;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    out_t<X> y(std::move(x.first), invoke_on_record(f, x.second));
    next(y);
  }
};

/// flat_map_values: (k, v) -> (k, w) for each w in f(v); keeps the partitioner.
template <class F>
struct FlatMapValuesOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static FlatMapValuesOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = true;
  static constexpr const char* name = "flat_map_values";
  template <class X>
  using out_t = std::pair<
      typename X::first_type,
      std::remove_cvref_t<std::ranges::range_value_t<record_result_t<F, typename X::second_type>>>>;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    auto&& r = invoke_on_record(f, x.second);
    for (auto&& w : r) {
      out_t<X> y(x.first, std::move(w));
      next(y);
    }
  }
};

/// key_by: x -> (f(x), x).
template <class F>
struct KeyByOp {
  F f;
  void save_state(Writer& w) const { detail::save_state(w, f); }
  static KeyByOp load_state(Reader& r) { return {detail::load_state<F>(r)}; }
  static constexpr bool preserves_partitioning = false;
  static constexpr const char* name = "key_by";
  template <class X>
  using out_t = std::pair<std::remove_cvref_t<std::invoke_result_t<F&, const X&>>, X>;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    using K = typename out_t<X>::first_type;
    if constexpr (std::is_default_constructible_v<K>) {
      // The key is computed from the record in its final place: a key that views into the
      // record (a string_view of a std::string field) would dangle if the record moved after.
      out_t<X> y(K{}, std::move(x));
      y.first = std::invoke(f, std::as_const(y.second));
      next(y);
    } else {
      out_t<X> y(std::invoke(f, std::as_const(x)), x);
      next(y);
    }
  }
};

/// Converts view records (std::string_view, ...) to their owning form before they are stored.
struct OwnOp {
  static constexpr bool preserves_partitioning = true;
  static constexpr const char* name = "own";
  template <class X>
  using out_t = owned_t<X>;
  template <class X, class Next>
  void operator()(X& x, Next& next) {
    out_t<X> y = to_owned_move(std::move(x));
    next(y);
  }
};

}  // namespace spate::detail
