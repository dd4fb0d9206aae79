// Tests of map_partitions_with_index: the user's function pulls the partition's records through
// a PartitionRecords range while they are computed, in every master.
#include <cstddef>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

}  // namespace

TEST_CASE("map_partitions_with_index sees each partition's records in order with its index") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto n : {std::size_t{0}, std::size_t{1}, std::size_t{1023}, std::size_t{1024}, std::size_t{1025},
                 std::size_t{5000}})
    for (auto parts : partition_counts(n, ctx)) {
      CAPTURE(n, parts);
      auto input = random_ints(n + parts, n, -100, 100);
      auto got = ctx.parallelize(input, parts)
                     .map_partitions_with_index([](std::size_t p, spate::PartitionRecords<int>& records) {
                       std::vector<std::pair<std::size_t, int>> out;
                       for (int& x : records) out.emplace_back(p, x);
                       return out;
                     })
                     .collect();
      std::vector<std::pair<std::size_t, int>> want;
      auto parts_in = slices(input, parts);
      for (std::size_t p = 0; p < parts_in.size(); ++p)
        for (int x : parts_in[p]) want.emplace_back(p, x);
      REQUIRE(got == want);
    }
}

TEST_CASE("map_partitions_with_index may return a lazy view over the records") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<int> input(10'000);
  std::iota(input.begin(), input.end(), 0);
  auto got = ctx.parallelize(input, 3)
                 .map([](int x) { return x * 2; })
                 .map_partitions_with_index([](std::size_t, spate::PartitionRecords<int>& records) {
                   return records | std::views::filter([](int x) { return x % 3 == 0; }) |
                          std::views::transform([](int x) { return std::to_string(x); });
                 })
                 .collect();
  std::vector<std::string> want;
  for (int x : input)
    if (x * 2 % 3 == 0) want.push_back(std::to_string(x * 2));
  REQUIRE(got == want);
}

TEST_CASE("map_partitions_with_index may stop reading early") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<int> input(20'000);
  std::iota(input.begin(), input.end(), 0);
  auto firsts = ctx.parallelize(input, 4)
                    .map_partitions_with_index([](std::size_t, spate::PartitionRecords<int>& records) {
                      std::vector<int> out;
                      for (int x : records) {
                        out.push_back(x);
                        if (out.size() == 3) break;
                      }
                      return out;
                    })
                    .collect();
  REQUIRE(firsts == std::vector<int>{0, 1, 2, 5000, 5001, 5002, 10000, 10001, 10002, 15000, 15001, 15002});
}

TEST_CASE("an error computing the records reaches the job through map_partitions_with_index") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 1);
  std::vector<int> input(5000);
  std::iota(input.begin(), input.end(), 0);
  auto ds = ctx.parallelize(input, 2)
                .map([](int x) {
                  if (x == 4321) throw std::runtime_error("bad record 4321");
                  return x;
                })
                .map_partitions_with_index([](std::size_t, spate::PartitionRecords<int>& records) {
                  long sum = 0;
                  for (int x : records) sum += x;
                  return std::vector<long>{sum};
                });
  CHECK_THROWS_WITH(ds.collect(), Catch::Contains("bad record 4321"));
}

TEST_CASE("map_partitions_with_index keeps the partitioner only when asked") {
  auto ctx = make_context("local[2]");
  auto by_key = ctx.parallelize(std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {1, 3}}, 2)
                    .reduce_by_key(std::plus<>{}, 3);
  auto pass = [](std::size_t, spate::PartitionRecords<std::pair<int, int>>& records) {
    std::vector<std::pair<int, int>> out;
    for (auto& kv : records) out.push_back(kv);
    return out;
  };
  CHECK(by_key.map_partitions_with_index(pass).partitioner() == nullptr);
  CHECK(by_key.map_partitions_with_index(pass, true).partitioner() == by_key.partitioner());
  CHECK(same(sorted(by_key.map_partitions_with_index(pass, true).collect()),
             std::vector<std::pair<int, int>>{{1, 4}, {2, 2}}));
}
