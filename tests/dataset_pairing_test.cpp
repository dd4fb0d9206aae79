// Tests of the operators that pair partitions or number records (zip, zip_partitions, cartesian,
// zip_with_unique_id, glom) against references built with the standard library, in every master.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

}  // namespace

TEST_CASE("zip pairs the i-th records of equal partitions, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto ints = random_ints(seed, n, -50, 50);
        auto words = random_words(seed, n);
        auto zipped = ctx.parallelize(ints, parts).zip(ctx.parallelize(words, parts)).collect();
        std::vector<std::pair<int, std::string>> want;
        for (std::size_t i = 0; i < n; ++i) want.emplace_back(ints[i], words[i]);
        REQUIRE(same(zipped, want));
      }
}

TEST_CASE("zip fails naming the partition whose record counts differ, and refuses unequal "
          "partition counts at once") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 1);
  std::vector<int> ten(10, 1);
  auto left = ctx.parallelize(ten, 2);
  auto right = ctx.parallelize(ten, 2).filter([](int) { return false; }).union_with(ctx.parallelize(ten, 1));
  REQUIRE(right.num_partitions() == 3);
  REQUIRE_THROWS_WITH(left.zip(right), Catch::Contains("2 and 3 partitions"));
  auto shorter = ctx.parallelize(std::vector<int>(9, 1), 2);
  REQUIRE_THROWS_WITH(left.zip(shorter).collect(),
                      Catch::Contains("zip: partition") && Catch::Contains("same number of records"));
}

TEST_CASE("zip_partitions hands each pair of same-index partitions to the function") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto a = random_ints(seed, n, 0, 9);
        auto b = random_ints(seed + 7, n * 2, 0, 9);
        // Each output: (partition, sum of a's records, count of b's records).
        using Out = std::tuple<std::size_t, long, std::size_t>;
        auto got = ctx.parallelize(a, parts)
                       .zip_partitions(ctx.parallelize(b, parts),
                                       [](std::size_t p, std::vector<int> xs, std::vector<int> ys) {
                                         long sum = 0;
                                         for (int x : xs) sum += x;
                                         return std::vector<Out>{Out(p, sum, ys.size())};
                                       })
                       .collect();
        auto sa = slices(a, parts);
        auto sb = slices(b, parts);
        std::vector<Out> want;
        for (std::size_t p = 0; p < parts; ++p) {
          long sum = 0;
          for (int x : sa[p]) sum += x;
          want.emplace_back(p, sum, sb[p].size());
        }
        REQUIRE(same(got, want));
      }
}

TEST_CASE("cartesian pairs every record with every other, partition i*m+j from i and j") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{9}, std::size_t{40}})
      for (std::size_t lp : {std::size_t{1}, std::size_t{3}})
        for (std::size_t rp : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
          CAPTURE(seed, n, lp, rp);
          auto a = random_ints(seed, n, 0, 100);
          auto b = random_words(seed, n / 2 + 1);
          auto product = ctx.parallelize(a, lp).cartesian(ctx.parallelize(b, rp));
          REQUIRE(product.num_partitions() == lp * rp);
          auto sa = slices(a, lp);
          auto sb = slices(b, rp);
          std::vector<std::pair<int, std::string>> want;
          for (std::size_t i = 0; i < lp; ++i)
            for (std::size_t j = 0; j < rp; ++j)
              for (int x : sa[i])
                for (const auto& y : sb[j]) want.emplace_back(x, y);
          REQUIRE(same(product.collect(), want));
        }
}

TEST_CASE("zip_with_unique_id numbers the i-th record of partition p of n as p + i*n") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_words(seed, n);
        auto got = ctx.parallelize(input, parts).zip_with_unique_id().collect();
        auto sp = slices(input, parts);
        std::vector<std::pair<std::string, std::uint64_t>> want;
        for (std::size_t p = 0; p < parts; ++p)
          for (std::size_t i = 0; i < sp[p].size(); ++i) want.emplace_back(sp[p][i], p + i * parts);
        REQUIRE(same(got, want));
        std::set<std::uint64_t> ids;
        for (const auto& r : got) ids.insert(r.second);
        REQUIRE(ids.size() == n);
      }
}

TEST_CASE("glom gives each partition, empty ones too, as one vector in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -5, 5);
        auto got = ctx.parallelize(input, parts).glom().collect();
        REQUIRE(same(got, slices(input, parts)));
      }
}
