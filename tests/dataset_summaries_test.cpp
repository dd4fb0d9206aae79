// Tests of the summarising actions (is_empty, tree_aggregate, tree_reduce, max, min, sum, mean,
// stats, histogram, count_approx_distinct(_by_key), lookup, collect_as_map, to_local_iterator)
// against std references, in every master.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/hyperloglog.hpp"
#include "test_support.hpp"

namespace {

using namespace spate_test;

double reference_mean(const std::vector<int>& v) {
  return static_cast<double>(std::accumulate(v.begin(), v.end(), 0L)) / static_cast<double>(v.size());
}

}  // namespace

TEST_CASE("is_empty is true exactly when there is no record, even with many empty partitions") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto n : kSizes)
    for (auto parts : partition_counts(n, ctx)) {
      CAPTURE(n, parts);
      REQUIRE(ctx.parallelize(random_ints(1, n, 0, 9), parts).is_empty() == (n == 0));
    }
  // Records only in the last of many partitions.
  std::vector<int> one{7};
  auto late = ctx.parallelize(std::vector<int>(40, 0), 20).filter([](int) { return false; }).union_with(
      ctx.parallelize(one, 1));
  REQUIRE_FALSE(late.is_empty());
}

TEST_CASE("tree_aggregate and tree_reduce equal aggregate and reduce at every depth") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (std::size_t parts : pick<std::size_t>(ctx, {1, 2, 7, 40}, {1, 7, 20}))
        for (int depth : {1, 2, 3, 5}) {
          CAPTURE(seed, n, parts, depth);
          auto input = random_ints(seed, n, -1000, 1000);
          auto ds = ctx.parallelize(input, parts);
          // Sum and count together, so that combining partial results is tested too.
          using SC = std::pair<long, long>;
          auto got = ds.tree_aggregate(
              SC{0, 0}, [](SC acc, int x) { return SC{acc.first + x, acc.second + 1}; },
              [](SC a, const SC& b) { return SC{a.first + b.first, a.second + b.second}; }, depth);
          REQUIRE(got == SC{std::accumulate(input.begin(), input.end(), 0L), static_cast<long>(n)});
          if (n == 0) {
            REQUIRE_THROWS_WITH(ds.tree_reduce([](int a, int b) { return a + b; }, depth),
                                Catch::Contains("empty"));
          } else {
            REQUIRE(ds.tree_reduce([](int a, int b) { return std::max(a, b); }, depth) ==
                    *std::max_element(input.begin(), input.end()));
          }
        }
  auto ds = ctx.parallelize(std::vector<int>{1, 2}, 2);
  REQUIRE_THROWS_AS(ds.tree_aggregate(0, std::plus<>{}, std::plus<>{}, 0), spate::config_error);
}

TEST_CASE("max and min use the comparator and fail on an empty dataset") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto words = random_words(seed, n);
        auto ds = ctx.parallelize(words, parts);
        if (n == 0) {
          REQUIRE_THROWS_WITH(ds.max(), Catch::Contains("max: the dataset is empty"));
          REQUIRE_THROWS_WITH(ds.min(), Catch::Contains("min: the dataset is empty"));
          continue;
        }
        REQUIRE(ds.max() == *std::max_element(words.begin(), words.end()));
        REQUIRE(ds.min() == *std::min_element(words.begin(), words.end()));
        auto shorter = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
        REQUIRE(ds.max(shorter).size() ==
                std::max_element(words.begin(), words.end(), shorter)->size());
        REQUIRE(ds.min(shorter).size() ==
                std::min_element(words.begin(), words.end(), shorter)->size());
      }
}

TEST_CASE("sum, mean and stats agree with a direct computation") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -500, 500);
        auto ds = ctx.parallelize(input, parts);
        REQUIRE(ds.sum() == std::accumulate(input.begin(), input.end(), 0));
        spate::Stats s = ds.stats();
        REQUIRE(s.count() == n);
        if (n == 0) {
          REQUIRE(std::isnan(ds.mean()));
          REQUIRE(std::isnan(s.variance()));
          REQUIRE(s.max() == -std::numeric_limits<double>::infinity());
          continue;
        }
        const double mean = reference_mean(input);
        double m2 = 0;
        for (int x : input) m2 += (x - mean) * (x - mean);
        REQUIRE(ds.mean() == Approx(mean));
        REQUIRE(s.mean() == Approx(mean));
        REQUIRE(s.variance() == Approx(m2 / static_cast<double>(n)).margin(1e-9));
        if (n > 1) REQUIRE(s.sample_stdev() == Approx(std::sqrt(m2 / static_cast<double>(n - 1))));
        REQUIRE(s.max() == *std::max_element(input.begin(), input.end()));
        REQUIRE(s.min() == *std::min_element(input.begin(), input.end()));
        REQUIRE(s.sum() == std::accumulate(input.begin(), input.end(), 0.0));
      }
}

TEST_CASE("histogram with even buckets and with given bounds counts as Spark does") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<double> values{-1.0, 0.0, 0.5, 1.0, 2.5, 3.0, 9.99, 10.0, 10.0, 11.0};
  auto ds = ctx.parallelize(values, 3);
  // Given bounds: [0, 1), [1, 5), [5, 10]; -1 and 11 fall outside.
  REQUIRE(same(ds.histogram(std::vector<double>{0.0, 1.0, 5.0, 10.0}),
               std::vector<std::uint64_t>{2, 3, 3}));
  // Even buckets from the min (-1) to the max (11): width 3.
  auto [bounds, counts] = ds.histogram(std::size_t{4});
  REQUIRE(same(bounds, std::vector<double>{-1.0, 2.0, 5.0, 8.0, 11.0}));
  REQUIRE(same(counts, std::vector<std::uint64_t>{4, 2, 0, 4}));
  // All equal: one closed bucket.
  auto flat = ctx.parallelize(std::vector<int>(5, 7), 2).histogram(std::size_t{3});
  REQUIRE(same(flat.first, std::vector<double>{7.0, 7.0}));
  REQUIRE(same(flat.second, std::vector<std::uint64_t>{5}));
  // Random values against a direct count, both forms.
  for (auto seed : seeds(ctx)) {
    auto input = random_ints(seed, 300, -50, 50);
    auto r = ctx.parallelize(input, 4).histogram(std::size_t{7});
    std::vector<std::uint64_t> want(7, 0);
    for (int x : input) {
      auto b = static_cast<std::size_t>(std::upper_bound(r.first.begin(), r.first.end(), x) - r.first.begin()) - 1;
      ++want[std::min<std::size_t>(b, 6)];
    }
    REQUIRE(same(r.second, want));
  }
  REQUIRE_THROWS_AS(ds.histogram(std::size_t{0}), spate::config_error);
  REQUIRE_THROWS_AS(ds.histogram(std::vector<double>{1.0}), spate::config_error);
  REQUIRE_THROWS_AS(ds.histogram(std::vector<double>{1.0, 3.0, 2.0}), spate::config_error);
  REQUIRE_THROWS_WITH(ctx.parallelize(std::vector<double>{}, 2).histogram(std::size_t{2}),
                      Catch::Contains("empty or holds NaN"));
  REQUIRE_THROWS_WITH(ctx.parallelize(std::vector<double>{1.0, INFINITY}, 2).histogram(std::size_t{2}),
                      Catch::Contains("empty or holds NaN"));
}

TEST_CASE("HyperLogLog estimates within a few standard errors from zero to a million") {
  for (int precision : {9, 14}) {
    const double sd = 1.04 / std::sqrt(static_cast<double>(1 << precision));
    spate::detail::HyperLogLog h(precision), half(precision);
    REQUIRE(h.estimate() == 0);
    std::uint64_t n = 0;
    for (std::uint64_t target : {10ULL, 1000ULL, 100000ULL, 1000000ULL}) {
      for (; n < target; ++n) {
        const std::uint64_t hash = spate::detail::mix64(n * 0x9e3779b97f4a7c15ULL + 1);
        h.add(hash);
        h.add(hash);  // duplicates change nothing
        if (n % 2 == 0) half.add(hash);
      }
      CAPTURE(precision, target, h.estimate());
      REQUIRE(std::abs(static_cast<double>(h.estimate()) - static_cast<double>(target)) <=
              std::max(4 * sd * static_cast<double>(target), 2.0));
    }
    // Merging a summary of a subset changes nothing.
    const std::uint64_t before = h.estimate();
    h.merge(half);
    REQUIRE(h.estimate() == before);
  }
  REQUIRE_THROWS_AS(spate::detail::HyperLogLog::precision_for(0.00001), spate::config_error);
  REQUIRE(spate::detail::HyperLogLog::precision_for(0.05) == 9);
}

TEST_CASE("count_approx_distinct and count_approx_distinct_by_key are close to the exact counts") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<std::pair<int, long>> input;
  // Key k holds the values 0 .. 1000 * (k + 1) - 1, each several times.
  for (long i = 0; i < 20000; ++i) input.emplace_back(static_cast<int>(i % 3), (i / 3) % (1000 * (i % 3 + 1)));
  auto ds = ctx.parallelize(input, 5);
  std::set<std::pair<int, long>> distinct(input.begin(), input.end());
  const double exact = static_cast<double>(distinct.size());  // 6000
  REQUIRE(std::abs(static_cast<double>(ds.count_approx_distinct(0.02)) - exact) < 4 * 0.02 * exact);
  std::map<int, std::uint64_t> per_key;
  for (auto& [k, c] : ds.count_approx_distinct_by_key(0.05, 2).collect()) per_key[k] = c;
  REQUIRE(per_key.size() == 3);
  for (int k = 0; k < 3; ++k) {
    const double want = 1000.0 * (k + 1);
    CAPTURE(k, per_key[k]);
    REQUIRE(std::abs(static_cast<double>(per_key[k]) - want) < 4 * 0.05 * want);
  }
  REQUIRE_THROWS_AS(ds.count_approx_distinct(0.000001), spate::config_error);
}

TEST_CASE("lookup gives a key's values in partition order, reading one partition when hash "
          "partitioned") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 6);
        auto ds = ctx.parallelize(input, parts);
        for (int key : {0, 3, 99}) {
          std::vector<int> want;
          for (const auto& [k, v] : input)
            if (k == key) want.push_back(v);
          REQUIRE(same(ds.lookup(key), want));
          auto partitioned = ds.partition_by(spate::HashPartitioner(3));
          REQUIRE(same(sorted(partitioned.lookup(key)), sorted(want)));
        }
      }
}

TEST_CASE("collect_as_map keeps the last value of a key in partition order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 10);
        std::map<int, int> want;
        for (const auto& [k, v] : input) want[k] = v;
        REQUIRE(same(ctx.parallelize(input, parts).collect_as_map(), want));
      }
}

TEST_CASE("to_local_iterator yields every record in partition order, one partition at a time") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_words(seed, n);
        std::vector<std::string> got;
        for (auto& w : ctx.parallelize(input, parts).to_local_iterator()) got.push_back(std::move(w));
        REQUIRE(same(got, input));
      }
}
