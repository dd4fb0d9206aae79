// Helpers shared by the Dataset operator tests: a context per master, seeded random inputs,
// reference helpers built on the standard library, a per-partition view of a dataset, temp dirs.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "spate/spate.hpp"

/// Every operator test runs once per master: one task thread, several, and three executor
/// processes over loopback TCP (tasks, shuffles and results all cross process boundaries).
#define SPATE_TEST_MASTER() GENERATE(as<std::string>{}, "local[1]", "local[3]", "local-cluster[3]")

/// For tests that observe tasks through a pointer into the test's own memory (a counter of
/// calls, records seen by foreach): that works only while tasks share the driver's address
/// space, as the documentation says of captured pointers.
#define SPATE_LOCAL_TEST_MASTER() GENERATE(as<std::string>{}, "local[1]", "local[3]")

namespace spate_test {

/// A context with the given master and task attempts. Contexts whose tasks run in executor
/// processes are made once per (master, attempts) and shared by the tests of this binary:
/// starting executors (each hashes the test binary to fingerprint it) costs about a second, a
/// job a few milliseconds. A test that needs a context of its own constructs spate::Context.
inline spate::Context make_context(const std::string& master, int task_attempts = 4) {
  spate::Options options{.master = master, .task_attempts = task_attempts};
  if (!master.starts_with("local-cluster")) return spate::Context(options);
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, spate::Context> shared;
  std::lock_guard lock(mutex);
  auto it = shared.find({master, task_attempts});
  if (it == shared.end()) it = shared.emplace(std::pair(master, task_attempts), spate::Context(options)).first;
  return it->second;
}

/// Seeds for the random inputs: fixed, so a failure reproduces.
inline const std::vector<std::uint64_t> kSeeds{1, 2, 3};

/// Record counts tried: empty, one record, a few, and enough for every partition to hold many.
inline const std::vector<std::size_t> kSizes{0, 1, 17, 300};

/// Partition counts tried for n records: 1, 2, 3, 7 and more partitions than records.
inline std::vector<std::size_t> partition_counts(std::size_t n) { return {1, 2, 3, 7, n + 5}; }

/// True when the context's tasks run in executor processes: there every job costs network
/// round trips, so tests try fewer seeds and partition counts (the same code paths, and still
/// more partitions than records for the small inputs).
inline bool in_processes(const spate::Context& ctx) {
  return ctx.master().starts_with("local-cluster") || ctx.master().starts_with("spate://");
}

/// The seeds to try with this context.
inline std::vector<std::uint64_t> seeds(const spate::Context& ctx) {
  return in_processes(ctx) ? std::vector<std::uint64_t>{1} : kSeeds;
}

/// The partition counts to try for n records with this context.
inline std::vector<std::size_t> partition_counts(std::size_t n, const spate::Context& ctx) {
  if (!in_processes(ctx)) return partition_counts(n);
  std::vector<std::size_t> v{1, 3, 7};
  if (n <= 20) v.push_back(n + 5);
  return v;
}

/// `local` with a context whose tasks run in this process, else `in_processes`.
template <class T>
std::vector<T> pick(const spate::Context& ctx, std::vector<T> local, std::vector<T> processes) {
  return in_processes(ctx) ? processes : local;
}

/// v sorted ascending: the reference form of a result whose order is not defined.
template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// n integers uniform in [lo, hi].
inline std::vector<int> random_ints(std::uint64_t seed, std::size_t n, int lo, int hi) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// n (key, value) pairs with keys in [0, num_keys) and values in [-1000, 1000]; a fraction
/// `skew` of the records (on average) has key 0, so one key can hold most of the records.
inline std::vector<std::pair<int, int>> random_pairs(std::uint64_t seed, std::size_t n,
                                                     int num_keys, double skew = 0.0) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> key(0, num_keys - 1), value(-1000, 1000);
  std::bernoulli_distribution hot(skew);
  std::vector<std::pair<int, int>> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    int k = hot(rng) ? 0 : key(rng);
    v.emplace_back(k, value(rng));
  }
  return v;
}

/// n short random words over a small alphabet, so that words repeat.
inline std::vector<std::string> random_words(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> len(0, 3), letter(0, 2);
  std::vector<std::string> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string w;
    for (int j = len(rng); j > 0; --j) w += static_cast<char>('a' + letter(rng));
    v.push_back(std::move(w));
  }
  return v;
}

/// The records of each of `parts` partitions as parallelize cuts `input`: partition p holds
/// input[p * n / parts, (p + 1) * n / parts).
template <class T>
std::vector<std::vector<T>> slices(const std::vector<T>& input, std::size_t parts) {
  std::vector<std::vector<T>> out(parts);
  for (std::size_t p = 0; p < parts; ++p)
    for (std::size_t i = p * input.size() / parts; i < (p + 1) * input.size() / parts; ++i) out[p].push_back(input[i]);
  return out;
}

/// The records of each partition of ds, in partition order (the `glom` of Spark).
template <class T, class S>
std::vector<std::vector<spate::owned_t<T>>> partitions_of(const spate::Dataset<T, S>& ds) {
  using O = spate::owned_t<T>;
  using Part = std::pair<std::size_t, std::vector<O>>;
  auto parts = ds.map_partitions([](std::size_t p, std::vector<O> records) {
                   return std::vector<Part>{Part(p, std::move(records))};
                 })
                   .collect();
  std::vector<std::vector<O>> out;
  for (auto& [p, records] : parts) {
    REQUIRE(p == out.size());
    out.push_back(std::move(records));
  }
  REQUIRE(out.size() == ds.num_partitions());
  return out;
}

/// A short text form of a value for failure messages: numbers, strings, pairs, tuples,
/// optionals, vectors and maps (long containers are cut after a few elements).
template <class T>
void show_to(std::ostringstream& os, const T& x);

template <class T>
std::string show(const T& x) {
  std::ostringstream os;
  show_to(os, x);
  return os.str();
}

template <class T>
struct is_vector_or_map : std::false_type {};
template <class T, class A>
struct is_vector_or_map<std::vector<T, A>> : std::true_type {};
template <class K, class V, class C, class A>
struct is_vector_or_map<std::map<K, V, C, A>> : std::true_type {};
template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

template <class T>
void show_to(std::ostringstream& os, const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (x ? "true" : "false");
  } else if constexpr (std::is_arithmetic_v<T>) {
    os << +x;
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    os << '"';
    for (char ch : std::string_view(x)) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f) {
        const char* hex = "0123456789abcdef";
        os << "\\x" << hex[u >> 4] << hex[u & 15];
      } else {
        os << ch;
      }
    }
    os << '"';
  } else if constexpr (is_std_optional<T>::value) {
    if (x) show_to(os, *x);
    else os << "nullopt";
  } else if constexpr (is_vector_or_map<T>::value) {
    os << '[';
    std::size_t i = 0;
    for (const auto& e : x) {
      if (i > 0) os << ", ";
      if (i++ == 12) {
        os << "... (" << x.size() << " in all)";
        break;
      }
      show_to(os, e);
    }
    os << ']';
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    os << '(';
    std::apply(
        [&os](const auto&... v) {
          bool first = true;
          ((os << (first ? "" : ", "), first = false, show_to(os, v)), ...);
        },
        x);
    os << ')';
  } else {
    os << "{?}";
  }
}

/// The outcome of comparing an actual value with the expected one, and what differs;
/// REQUIRE(same(actual, expected)) prints the difference when they are not equal.
struct Comparison {
  bool equal;
  std::string description;
  explicit operator bool() const { return equal; }
};

/// Compares actual with expected; for vectors, names the first index where they differ.
template <class A, class B>
Comparison same(const A& actual, const B& expected) {
  if (actual == expected) return {true, "equal"};
  std::ostringstream os;
  if constexpr (is_vector_or_map<A>::value && is_vector_or_map<B>::value) {
    os << "got " << actual.size() << " elements, expected " << expected.size();
    auto a = actual.begin();
    auto b = expected.begin();
    std::size_t i = 0;
    while (a != actual.end() && b != expected.end() && *a == *b) ++a, ++b, ++i;
    os << "; first difference at index " << i << ": got "
       << (a == actual.end() ? std::string("(end)") : show(*a)) << ", expected "
       << (b == expected.end() ? std::string("(end)") : show(*b));
    os << "\n  actual:   " << show(actual) << "\n  expected: " << show(expected);
  } else {
    os << "got " << show(actual) << ", expected " << show(expected);
  }
  return {false, os.str()};
}

/// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("spate-dataset-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// A path inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// Writes content to path (binary, truncating).
inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  REQUIRE(out.good());
}

/// The whole content of a file.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The lines of a text (split at '\n', nothing after a final '\n').
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace spate_test

namespace Catch {
template <>
struct StringMaker<spate_test::Comparison> {
  static std::string convert(const spate_test::Comparison& c) { return c.description; }
};
}  // namespace Catch
