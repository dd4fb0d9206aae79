// Binding members of a user row, or elements of a std::tuple, to fields of a record: the
// template half of read_csv and read_json_lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "spate/serialization.hpp"

namespace spate::detail {

template <class T>
struct optional_traits {
  static constexpr bool is_optional = false;
  using value_type = T;
};
template <class T>
struct optional_traits<std::optional<T>> {
  static constexpr bool is_optional = true;
  using value_type = T;
};

/// Where the values of a row of type Row go: a member pointer per binding (MemberBinder), or
/// the tuple's elements in order (TupleBinder). visit(row, f) calls f(index, slot) for each.
template <class Row, class... M>
class MemberBinder {
 public:
  using value_types = std::tuple<M...>;
  static constexpr std::size_t size = sizeof...(M);

  MemberBinder() = default;
  explicit MemberBinder(M Row::*... members) : members_(members...) {}

  template <class F>
  auto visit(Row& row, F&& f) const {
    return visit_from<0>(row, f);
  }
  void save(Writer& w) const {
    std::apply([&](const auto&... m) { (w.write_bytes(&m, sizeof m), ...); }, members_);
  }
  static MemberBinder load(Reader& r) {
    MemberBinder b;
    std::apply([&](auto&... m) { (r.read_bytes(&m, sizeof m), ...); }, b.members_);
    return b;
  }

 private:
  // Stops at the first binding f refuses (f returns something true).
  template <std::size_t I, class F>
  auto visit_from(Row& row, F& f) const {
    if constexpr (I + 1 == size) {
      return f(I, row.*std::get<I>(members_));
    } else {
      if (auto r = f(I, row.*std::get<I>(members_))) return r;
      return visit_from<I + 1>(row, f);
    }
  }
  std::tuple<M Row::*...> members_;
};

template <class... T>
class TupleBinder {
 public:
  using value_types = std::tuple<T...>;
  static constexpr std::size_t size = sizeof...(T);

  template <class F>
  auto visit(std::tuple<T...>& row, F&& f) const {
    return visit_from<0>(row, f);
  }
  void save(Writer&) const {}
  static TupleBinder load(Reader&) { return {}; }

 private:
  template <std::size_t I, class F>
  auto visit_from(std::tuple<T...>& row, F& f) const {
    if constexpr (I + 1 == size) {
      return f(I, std::get<I>(row));
    } else {
      if (auto r = f(I, std::get<I>(row))) return r;
      return visit_from<I + 1>(row, f);
    }
  }
};

}  // namespace spate::detail
