// footprint(x): about how many bytes a record takes in memory, its heap allocations included;
// what memory accounting charges for records held in tables, groups and sort runs.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace spate::detail {

template <class T>
std::size_t heap_bytes(const T& x) noexcept;

template <class T>
struct HeapBytes {
  static std::size_t of(const T&) noexcept { return 0; }  // no owned heap memory known
};

template <class C, class Tr, class A>
struct HeapBytes<std::basic_string<C, Tr, A>> {
  static std::size_t of(const std::basic_string<C, Tr, A>& s) noexcept {
    // Short strings live inside the object (libstdc++ keeps up to 15 chars there).
    return s.capacity() > 15 ? (s.capacity() + 1) * sizeof(C) : 0;
  }
};

template <class T, class A>
struct HeapBytes<std::vector<T, A>> {
  static std::size_t of(const std::vector<T, A>& v) noexcept {
    std::size_t n = v.capacity() * sizeof(T);
    if constexpr (!std::is_trivially_copyable_v<T>)
      for (const auto& x : v) n += heap_bytes(x);
    return n;
  }
};

template <class A, class B>
struct HeapBytes<std::pair<A, B>> {
  static std::size_t of(const std::pair<A, B>& p) noexcept { return heap_bytes(p.first) + heap_bytes(p.second); }
};

template <class... Ts>
struct HeapBytes<std::tuple<Ts...>> {
  static std::size_t of(const std::tuple<Ts...>& t) noexcept {
    return std::apply([](const auto&... x) { return (std::size_t{0} + ... + heap_bytes(x)); }, t);
  }
};

template <class T>
struct HeapBytes<std::optional<T>> {
  static std::size_t of(const std::optional<T>& o) noexcept { return o ? heap_bytes(*o) : 0; }
};

template <class T, std::size_t N>
struct HeapBytes<std::array<T, N>> {
  static std::size_t of(const std::array<T, N>& a) noexcept {
    std::size_t n = 0;
    for (const auto& x : a) n += heap_bytes(x);
    return n;
  }
};

/// Bytes x owns on the heap (strings past their inline buffer, vector storage, recursively).
template <class T>
std::size_t heap_bytes(const T& x) noexcept {
  if constexpr (std::is_trivially_copyable_v<T>) {
    return 0;
  } else {
    return HeapBytes<T>::of(x);
  }
}

/// Bytes x takes in memory: the object and what it owns.
template <class T>
std::size_t footprint(const T& x) noexcept {
  return sizeof(T) + heap_bytes(x);
}

}  // namespace spate::detail
