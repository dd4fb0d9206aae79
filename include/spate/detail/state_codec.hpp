// save_state / load_state: how the state of an operator piece (an op, aggregator, bucketer or
// partitioner holding user functions) is written into a task and rebuilt in an executor.
#pragma once

#include <type_traits>
#include <utility>

#include "spate/detail/function_shipping.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// Fails to compile when F cannot travel to executors. Called where a user's function enters
/// spate, so the error's instantiation trace starts at the user's line.
template <class F>
constexpr void require_shippable() {
  static_assert(is_shippable_v<F> || requires(const F& f, Writer& w) { f.save_state(w); },
                "spate cannot ship this function object to executors: capture values (not "
                "references or pointers to data) so that it is trivially copyable, give it a "
                "`template <class Archive> void serialize(Archive&, unsigned)` member, or put "
                "large state in ctx.broadcast(v) and capture the handle");
}

/// Writes x: through its own `save_state(Writer&)` when it has one, else as a shipped
/// function object (raw bytes when trivially copyable, or its serialize()).
template <class X>
void save_state(Writer& w, const X& x) {
  if constexpr (requires { x.save_state(w); }) {
    x.save_state(w);
  } else {
    write_function(w, x);
  }
}

/// Rebuilds what save_state wrote (never default-constructs closure types).
template <class X>
X load_state(Reader& r) {
  if constexpr (requires { X::load_state(r); }) {
    return X::load_state(r);
  } else {
    auto shipped = read_function<X>(r);
    return X(shipped.get());
  }
}

}  // namespace spate::detail
