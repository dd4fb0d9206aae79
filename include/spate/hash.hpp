// stable_hash: a hash that is the same in every process and run, used to partition records.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace spate {

namespace detail {

// A 64-bit finaliser (from splitmix64): full avalanche, so `hash % n` spreads small integers.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The 128-bit product of a and b folded to 64 bits: one multiply that mixes every bit of both.
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using Uint128 = unsigned __int128;
  const Uint128 r = static_cast<Uint128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

// Hashes bytes sixteen at a time; independent of process, address and seed randomisation. Each
// 16 bytes cost one folded 128-bit multiply, and a final one mixes the tail and the length. The
// keys spate hashes most (ids, country codes, words, urls) take one or two multiplies; the former
// eight-byte loop with a separate finaliser took about twice as long on urls.
inline std::uint64_t hash_bytes(const char* data, std::size_t n) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                          k2 = 0x8ebc6af09c88c6e3ULL, k3 = 0x589965cc75374cc3ULL;
  auto load64 = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  auto load32 = [](const char* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    return std::uint64_t{w};
  };
  std::uint64_t seed = k0 ^ (n * k3);
  std::uint64_t a, b;
  if (n <= 16) {
    // Fixed-size loads, overlapping for lengths between (a variable-length copy costs a call).
    if (n >= 8) {
      a = load64(data);
      b = load64(data + n - 8);
    } else if (n >= 4) {
      a = load32(data);
      b = load32(data + n - 4);
    } else if (n > 0) {
      a = (std::uint64_t{static_cast<unsigned char>(data[0])} << 16) |
          (std::uint64_t{static_cast<unsigned char>(data[n / 2])} << 8) | static_cast<unsigned char>(data[n - 1]);
      b = 0;
    } else {
      a = b = 0;
    }
  } else {
    std::size_t left = n;
    const char* p = data;
    while (left > 16) {
      seed = fold_multiply(load64(p) ^ k1, load64(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = load64(p + left - 16);  // the last sixteen bytes, overlapping what came before
    b = load64(p + left - 8);
  }
  return fold_multiply(k1 ^ n, fold_multiply(a ^ k1, b ^ seed ^ k2));
}

constexpr std::uint64_t hash_combine(std::uint64_t seed, std::uint64_t h) noexcept {
  return mix64(seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

}  // namespace detail

/// Deterministic hash of a key; specialise it (operator() const noexcept -> uint64_t) for own
/// key types. std::hash is not used: it may differ between builds and is identity for integers.
template <class T, class Enable = void>
struct stable_hash {
  static_assert(sizeof(T) == 0,
                "spate::stable_hash has no overload for this key type: specialise "
                "spate::stable_hash<YourKey> with `std::uint64_t operator()(const YourKey&) const`");
};

template <class T>
struct stable_hash<T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>>> {
  std::uint64_t operator()(T x) const noexcept {
    return detail::mix64(static_cast<std::uint64_t>(x));
  }
};

template <class T>
struct stable_hash<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  std::uint64_t operator()(T x) const noexcept {
    if (x == T{0}) x = T{0};  // -0.0 and 0.0 are equal keys
    return detail::hash_bytes(reinterpret_cast<const char*>(&x), sizeof x);
  }
};

template <>
struct stable_hash<std::string_view> {
  std::uint64_t operator()(std::string_view s) const noexcept {
    return detail::hash_bytes(s.data(), s.size());
  }
};

template <>
struct stable_hash<std::string> {
  std::uint64_t operator()(const std::string& s) const noexcept {
    return detail::hash_bytes(s.data(), s.size());
  }
};

template <class A, class B>
struct stable_hash<std::pair<A, B>> {
  std::uint64_t operator()(const std::pair<A, B>& p) const noexcept {
    return detail::hash_combine(stable_hash<A>{}(p.first), stable_hash<B>{}(p.second));
  }
};

template <class... Ts>
struct stable_hash<std::tuple<Ts...>> {
  std::uint64_t operator()(const std::tuple<Ts...>& t) const noexcept {
    std::uint64_t h = 0x1234567;
    std::apply([&](const Ts&... v) { ((h = detail::hash_combine(h, stable_hash<Ts>{}(v))), ...); },
               t);
    return h;
  }
};

template <class T>
struct stable_hash<std::optional<T>> {
  std::uint64_t operator()(const std::optional<T>& v) const noexcept {
    return v ? detail::hash_combine(1, stable_hash<T>{}(*v)) : 0x5bd1e995ULL;
  }
};

template <class T>
struct stable_hash<std::vector<T>> {
  std::uint64_t operator()(const std::vector<T>& v) const noexcept {
    std::uint64_t h = v.size();
    for (const auto& x : v) h = detail::hash_combine(h, stable_hash<T>{}(x));
    return h;
  }
};

}  // namespace spate
