// BoundTask: an action's per-partition function with the values it needs (zero values, user
// functions) held as data, so it ships to executors whatever those values' types are.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "spate/detail/state_codec.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// F is a captureless lambda (default-constructible in C++20); it is called with the task's
/// arguments followed by the bound values. Records go through Serializer, functions through
/// save_state.
template <class F, class... Args>
struct BoundTask {
  static_assert(std::is_default_constructible_v<F>, "BoundTask takes a captureless lambda");
  std::tuple<Args...> args;

  template <class... X>
  decltype(auto) operator()(X&&... x) {
    return std::apply([&](Args&... a) -> decltype(auto) { return F{}(std::forward<X>(x)..., a...); },
                      args);
  }

  void save_state(Writer& w) const {
    std::apply([&w](const Args&... a) { (save_arg(w, a), ...); }, args);
  }
  static BoundTask load_state(Reader& r) { return BoundTask{std::tuple<Args...>{load_arg<Args>(r)...}}; }

 private:
  template <class A>
  static void save_arg(Writer& w, const A& a) {
    if constexpr (is_serializable_v<A>) serialize_to(w, a);
    else detail::save_state(w, a);
  }
  template <class A>
  static A load_arg(Reader& r) {
    if constexpr (is_serializable_v<A>) return A(deserialize_from<A>(r));
    else return detail::load_state<A>(r);
  }
};

/// Binds values to a captureless lambda: bind_task(f, a, b)(x...) calls f(x..., a, b).
template <class F, class... Args>
BoundTask<F, std::decay_t<Args>...> bind_task(F, Args&&... args) {
  return {std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)};
}

}  // namespace spate::detail
