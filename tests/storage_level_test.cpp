// Tests of persist(StorageLevel): which levels keep partitions where, that every level returns
// the same records as the lineage in every master, and Spark's rules for setting a level.
#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
using spate::StorageLevel;

const std::vector<StorageLevel> kLevels{StorageLevel::memory_only, StorageLevel::disk_only,
                                        StorageLevel::memory_and_disk};

}  // namespace

TEST_CASE("every storage level gives the records of the lineage, action after action") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto level : kLevels)
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(spate::to_string(level), n, parts);
        auto input = random_pairs(n + parts, n, 9);
        auto persisted = ctx.parallelize(input, parts)
                             .map([](std::pair<int, int> kv) { return std::pair(std::to_string(kv.first), kv.second * 3); })
                             .persist(level);
        std::vector<std::pair<std::string, int>> want;
        for (auto [k, v] : input) want.emplace_back(std::to_string(k), v * 3);
        REQUIRE(persisted.storage_level() == level);
        REQUIRE(same(persisted.collect(), want));
        REQUIRE(same(persisted.collect(), want));  // now read from where the level keeps it
        REQUIRE(persisted.count() == n);
        std::map<std::string, int> sums;
        for (auto& [k, v] : want) sums[k] += v;
        REQUIRE(same(sorted(persisted.reduce_by_key(std::plus<>{}).collect()),
                     std::vector<std::pair<std::string, int>>(sums.begin(), sums.end())));
        persisted.unpersist();
        REQUIRE(persisted.storage_level() == StorageLevel::none);
        REQUIRE(same(persisted.collect(), want));
      }
}

TEST_CASE("a persisted partition is computed once at every level while it fits") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto level : kLevels) {
    CAPTURE(spate::to_string(level));
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto input = random_ints(7, 500, -1000, 1000);
    auto persisted = ctx.parallelize(input, 4).map([c](int x) {
      c->fetch_add(1);
      return std::to_string(x);
    }).persist(level);
    REQUIRE(persisted.count() == input.size());
    REQUIRE(persisted.collect().size() == input.size());
    REQUIRE(persisted.take(3).size() == 3);
    CHECK(calls.load() == static_cast<int>(input.size()));
    persisted.unpersist();
    REQUIRE(persisted.count() == input.size());
    CHECK(calls.load() == 2 * static_cast<int>(input.size()));
  }
}

TEST_CASE("past the memory budget, memory_and_disk keeps partitions on disk and memory_only keeps none") {
  // 1 MiB of memory; each partition holds about 4 MiB of strings.
  spate::Context ctx(spate::Options{.master = "local[2]", .executor_memory = 1 << 20, .progress = false, .ui = false});
  std::vector<int> input(200'000);
  for (int i = 0; i < static_cast<int>(input.size()); ++i) input[i] = i;
  for (auto level : {StorageLevel::memory_only, StorageLevel::memory_and_disk, StorageLevel::disk_only}) {
    CAPTURE(spate::to_string(level));
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto persisted = ctx.parallelize(input, 2).map([c](int x) {
      c->fetch_add(1);
      return std::string(16, static_cast<char>('a' + x % 26));
    }).persist(level);
    REQUIRE(persisted.count() == input.size());
    auto back = persisted.collect();
    REQUIRE(back.size() == input.size());
    for (std::size_t i = 0; i < back.size(); i += 9973)
      REQUIRE(back[i] == std::string(16, static_cast<char>('a' + i % 26)));
    int once = static_cast<int>(input.size());
    CHECK(calls.load() == (level == StorageLevel::memory_only ? 2 * once : once));
    persisted.unpersist();
  }
}

TEST_CASE("a storage level cannot be changed once set, nor be none") {
  auto ctx = make_context("local[2]");
  auto ds = ctx.parallelize(std::vector<int>{1, 2, 3}, 2).map([](int x) { return x + 1; });
  auto kept = ds.persist(StorageLevel::disk_only);
  CHECK(kept.persist(StorageLevel::disk_only).storage_level() == StorageLevel::disk_only);
  CHECK_THROWS_WITH(kept.persist(StorageLevel::memory_only),
                    Catch::Contains("already persisted as disk_only") && Catch::Contains("unpersist() first"));
  CHECK_THROWS_WITH(kept.cache(), Catch::Contains("already persisted as disk_only"));
  CHECK_THROWS_WITH(ds.persist(StorageLevel::none), Catch::Contains("unpersist()"));
  kept.unpersist();
  CHECK(kept.cache().storage_level() == StorageLevel::memory_only);
  CHECK(same(kept.collect(), std::vector<int>{2, 3, 4}));
}
