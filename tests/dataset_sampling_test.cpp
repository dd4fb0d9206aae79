// Tests of the random operators (random_split, sample_by_key, take_sample): what they keep, in
// what proportion, and that a seed gives the same result on every run, in every master.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

/// 0, 1, ..., n - 1: distinct records, so that a multiset check is exact.
std::vector<int> iota(std::size_t n) {
  std::vector<int> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<int>(i);
  return v;
}

}  // namespace

TEST_CASE("random_split puts each record in exactly one split, in proportion to the weights, "
          "the same on every run") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  const std::size_t n = 6000;
  auto input = iota(n);
  for (std::size_t parts : pick<std::size_t>(ctx, {1, 4, 9}, {3})) {
    CAPTURE(parts);
    auto ds = ctx.parallelize(input, parts);
    auto splits = ds.random_split({1.0, 2.0, 3.0}, 17);
    REQUIRE(splits.size() == 3);
    std::vector<int> all;
    std::vector<std::size_t> sizes;
    for (auto& s : splits) {
      auto got = s.collect();
      REQUIRE(same(got, s.collect()));  // recomputed alike
      sizes.push_back(got.size());
      all.insert(all.end(), got.begin(), got.end());
    }
    REQUIRE(same(sorted(all), input));
    // Each split within 5 standard deviations of its binomial mean.
    const double weights[] = {1.0 / 6, 2.0 / 6, 3.0 / 6};
    for (int i = 0; i < 3; ++i) {
      const double mean = n * weights[i];
      const double sd = std::sqrt(n * weights[i] * (1 - weights[i]));
      CHECK(std::abs(static_cast<double>(sizes[static_cast<std::size_t>(i)]) - mean) < 5 * sd);
    }
    // Another seed splits differently.
    auto other = ds.random_split({1.0, 2.0, 3.0}, 18);
    REQUIRE(other[0].collect() != splits[0].collect());
  }
}

TEST_CASE("random_split refuses empty, negative, infinite or all-zero weights") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto ds = ctx.parallelize(iota(10), 2);
  REQUIRE_THROWS_AS(ds.random_split({}), spate::config_error);
  REQUIRE_THROWS_AS(ds.random_split({0.0, 0.0}), spate::config_error);
  REQUIRE_THROWS_AS(ds.random_split({1.0, -1.0}), spate::config_error);
  REQUIRE_THROWS_AS(ds.random_split({1.0, INFINITY}), spate::config_error);
  // A zero weight is allowed: that split is empty.
  auto splits = ds.random_split({1.0, 0.0});
  REQUIRE(splits[0].count() == 10);
  REQUIRE(splits[1].count() == 0);
}

TEST_CASE("sample_by_key keeps about each key's fraction, deterministically, and fails naming a "
          "key without one") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 1);
  std::vector<std::pair<std::string, int>> input;
  for (int i = 0; i < 4000; ++i) input.emplace_back(i % 2 == 0 ? "even" : "odd", i);
  auto ds = ctx.parallelize(input, 4);
  const std::map<std::string, double> fractions{{"even", 0.1}, {"odd", 0.8}};
  for (bool with_replacement : {false, true}) {
    CAPTURE(with_replacement);
    auto sample = ds.sample_by_key(with_replacement, fractions, 5).collect();
    REQUIRE(same(sample, ds.sample_by_key(with_replacement, fractions, 5).collect()));
    std::map<std::string, int> per_key;
    for (const auto& [k, v] : sample) {
      REQUIRE(((k == "even") == (v % 2 == 0)));
      ++per_key[k];
    }
    CHECK(std::abs(per_key["even"] - 200) < 5 * std::sqrt(200.0));
    CHECK(std::abs(per_key["odd"] - 1600) < 5 * std::sqrt(1600.0));
    if (!with_replacement) {
      std::set<int> distinct;
      for (const auto& r : sample) distinct.insert(r.second);
      REQUIRE(distinct.size() == sample.size());
    }
  }
  REQUIRE_THROWS_WITH(ds.sample_by_key(false, {{"even", 0.5}}).collect(),
                      Catch::Contains("no sampling rate for the key \"odd\""));
  REQUIRE_THROWS_AS(ds.sample_by_key(false, {{"even", 1.5}, {"odd", 0.1}}), spate::config_error);
}

TEST_CASE("take_sample returns n distinct records, or all of them shuffled when fewer, the same "
          "for a seed") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{50}, std::size_t{3000}}) {
    for (std::size_t parts : pick<std::size_t>(ctx, {1, 3, 8}, {3})) {
      CAPTURE(n, parts);
      auto input = iota(n);
      auto ds = ctx.parallelize(input, parts);
      for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{10}, n, n + 3}) {
        CAPTURE(k);
        auto got = ds.take_sample(false, k, 9);
        REQUIRE(got.size() == std::min(k, n));
        REQUIRE(same(got, ds.take_sample(false, k, 9)));
        std::set<int> distinct(got.begin(), got.end());
        REQUIRE(distinct.size() == got.size());
        for (int x : got) REQUIRE((x >= 0 && static_cast<std::size_t>(x) < n));
        if (k >= n && n > 1) {
          REQUIRE(same(sorted(got), input));
          REQUIRE(got != input);  // shuffled (3000 or 50 records never stay in order)
        }
      }
      // With replacement: exactly k records (when there are any), all from the input.
      auto with = ds.take_sample(true, 100, 3);
      REQUIRE(with.size() == (n == 0 ? 0 : 100));
      for (int x : with) REQUIRE((x >= 0 && static_cast<std::size_t>(x) < n));
    }
  }
}
