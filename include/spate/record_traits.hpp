// Record ownership: which record types are views into input buffers, and their owning form.
#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace spate {

/// Maps a record type to the type spate stores when it materialises records (shuffle, cache,
/// collect). Views such as std::string_view point into an input buffer that is reused, so they
/// are stored in their owning form. Specialise it for your own view types with
/// `using owned_type = ...;` and `static owned_type to_owned(const T&);`.
template <class T, class Enable = void>
struct record_traits {
  using owned_type = T;
  static const T& to_owned(const T& x) noexcept { return x; }
};

template <>
struct record_traits<std::string_view> {
  using owned_type = std::string;
  static std::string to_owned(std::string_view x) { return std::string(x); }
};

template <class A, class B>
struct record_traits<std::pair<A, B>> {
  using owned_type =
      std::pair<typename record_traits<A>::owned_type, typename record_traits<B>::owned_type>;
  static owned_type to_owned(const std::pair<A, B>& x) {
    return owned_type(record_traits<A>::to_owned(x.first), record_traits<B>::to_owned(x.second));
  }
};

template <class... Ts>
struct record_traits<std::tuple<Ts...>> {
  using owned_type = std::tuple<typename record_traits<Ts>::owned_type...>;
  static owned_type to_owned(const std::tuple<Ts...>& x) {
    return std::apply(
        [](const Ts&... v) { return owned_type(record_traits<Ts>::to_owned(v)...); }, x);
  }
};

/// The owning form of record type T.
template <class T>
using owned_t = typename record_traits<T>::owned_type;

/// Converts a record to its owning form (a copy for types that own their data already).
template <class T>
owned_t<T> to_owned(const T& x) {
  return record_traits<T>::to_owned(x);
}

/// Converts an rvalue record to its owning form, moving when it already owns its data.
template <class T>
owned_t<std::remove_cvref_t<T>> to_owned_move(T&& x) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<owned_t<U>, U>) {
    return std::forward<T>(x);
  } else {
    return record_traits<U>::to_owned(x);
  }
}

}  // namespace spate
