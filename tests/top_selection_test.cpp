// Tests of the selection behind top and take_ordered (top_selection.hpp) on inputs large enough to
// trim its buffer many times, which the action tests' small datasets never do.
#include "spate/detail/top_selection.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace {

using Rec = std::pair<int, int>;  // (key, id): ordered by key only, so that ties are common

std::vector<Rec> random_records(std::uint64_t seed, std::size_t n, int keys) {
  std::mt19937_64 rng(seed);
  std::vector<Rec> out;
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(static_cast<int>(rng() % keys), static_cast<int>(i));
  return out;
}

std::vector<Rec> select(const std::vector<Rec>& input, std::size_t k) {
  auto by_key = [](const Rec& a, const Rec& b) { return a.first < b.first; };
  return spate::detail::largest_sorted<Rec>(k, by_key, [&](auto&& keep) {
    for (Rec r : input) keep(std::move(r));
  });
}

std::vector<int> keys_of(const std::vector<Rec>& rs) {
  std::vector<int> out;
  for (const Rec& r : rs) out.push_back(r.first);
  return out;
}

}  // namespace

TEST_CASE("largest_sorted keeps the k largest, largest first, however often it trims its buffer",
          "[top]") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5000}, std::size_t{60000}}) {
      for (int keys : {3, 1000, 1 << 30}) {
        const std::vector<Rec> input = random_records(seed, n, keys);
        std::vector<int> want = keys_of(input);
        std::sort(want.begin(), want.end(), std::greater<>{});
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{4097},
                              std::size_t{20000}, n, std::numeric_limits<std::size_t>::max()}) {
          CAPTURE(seed, n, keys, k);
          const std::vector<Rec> got = select(input, k);
          const std::vector<int> prefix(want.begin(),
                                        want.begin() + static_cast<std::ptrdiff_t>(std::min(k, n)));
          REQUIRE(keys_of(got) == prefix);
          // Which of equal records are kept is the same on every run.
          REQUIRE(select(input, k) == got);
        }
      }
    }
  }
}

TEST_CASE("merge_largest merges sorted runs, equal records in run order, and stops at n", "[top]") {
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t runs = 1 + rng() % 6;
    std::vector<std::vector<Rec>> parts(runs);
    std::vector<Rec> all;
    int id = 0;
    for (auto& run : parts) {
      const std::size_t size = rng() % 200;
      for (std::size_t i = 0; i < size; ++i) run.emplace_back(static_cast<int>(rng() % 20), id++);
      std::stable_sort(run.begin(), run.end(),
                       [](const Rec& a, const Rec& b) { return a.first > b.first; });
      all.insert(all.end(), run.begin(), run.end());
    }
    // Concatenated in run order, a stable sort gives exactly what the merge must.
    std::stable_sort(all.begin(), all.end(),
                     [](const Rec& a, const Rec& b) { return a.first > b.first; });
    for (std::size_t n : {std::size_t{0}, std::size_t{3}, all.size(), all.size() + 5}) {
      CAPTURE(trial, n);
      auto by_key = [](const Rec& a, const Rec& b) { return a.first < b.first; };
      const std::vector<Rec> got = spate::detail::merge_largest(parts, n, by_key);
      const std::vector<Rec> want(all.begin(),
                                  all.begin() + static_cast<std::ptrdiff_t>(std::min(n, all.size())));
      REQUIRE(got == want);
    }
  }
}
