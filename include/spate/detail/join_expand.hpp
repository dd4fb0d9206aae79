// JoinExpandOp: turns cogrouped (key, (values, values)) records into the rows of each join kind.
#pragma once

#include <optional>
#include <utility>
#include <vector>

namespace spate::detail {

struct InnerJoin {
  static constexpr const char* name = "join";
  static constexpr bool keep_left = false, keep_right = false;
};
struct LeftOuterJoin {
  static constexpr const char* name = "left_outer_join";
  static constexpr bool keep_left = true, keep_right = false;
};
struct RightOuterJoin {
  static constexpr const char* name = "right_outer_join";
  static constexpr bool keep_left = false, keep_right = true;
};
struct FullOuterJoin {
  static constexpr const char* name = "full_outer_join";
  static constexpr bool keep_left = true, keep_right = true;
};

/// A narrow op over cogroup output; rows follow the left values' order, then the right's.
/// The side that may be missing (kept rows of the other side) is a std::optional.
template <class Kind>
struct JoinExpandOp {
  static constexpr bool preserves_partitioning = true;
  static constexpr const char* name = Kind::name;

  template <class X>
  struct Types {
    using K = typename X::first_type;
    using V = typename X::second_type::first_type::value_type;
    using W = typename X::second_type::second_type::value_type;
    using L = std::conditional_t<Kind::keep_right, std::optional<V>, V>;
    using R = std::conditional_t<Kind::keep_left, std::optional<W>, W>;
    using Out = std::pair<K, std::pair<L, R>>;
  };
  template <class X>
  using out_t = typename Types<X>::Out;

  template <class X, class Next>
  void operator()(X& x, Next& next) {
    using O = out_t<X>;
    auto& [vs, ws] = x.second;
    if (vs.empty() && ws.empty()) return;
    if (vs.empty()) {
      if constexpr (Kind::keep_right)
        for (auto& w : ws) {
          O o(x.first, {std::nullopt, w});
          next(o);
        }
      return;
    }
    if (ws.empty()) {
      if constexpr (Kind::keep_left)
        for (auto& v : vs) {
          O o(x.first, {v, std::nullopt});
          next(o);
        }
      return;
    }
    for (auto& v : vs)
      for (auto& w : ws) {
        O o(x.first, {v, w});
        next(o);
      }
  }
};

}  // namespace spate::detail
