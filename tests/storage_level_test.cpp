// Tests of persist(StorageLevel): which levels keep partitions where, that every level returns
// the same records as the lineage in every master, and Spark's rules for setting a level.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
using spate::StorageLevel;

const std::vector<StorageLevel> kLevels{StorageLevel::memory_only, StorageLevel::disk_only,
                                        StorageLevel::memory_and_disk};

// How many Fat records are alive in this process, and the most at once since reset_peak(): what
// the tests of memory-bounded levels measure, records rather than the process's resident size,
// which the allocator blurs. In local-cluster the records live in the executors, uncounted here.
std::atomic<long> fat_alive{0};
std::atomic<long> fat_peak{0};

void reset_peak() { fat_peak.store(fat_alive.load()); }

/// A record of 256 bytes that counts itself alive.
struct Fat {
  std::int64_t id = 0;
  char payload[248] = {};
  Fat() { born(); }
  explicit Fat(std::int64_t i) : id(i) { born(); }
  Fat(const Fat& other) : id(other.id) { born(); }
  Fat& operator=(const Fat&) = default;
  ~Fat() { fat_alive.fetch_sub(1); }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & id;
  }
  static void born() {
    long now = fat_alive.fetch_add(1) + 1;
    long peak = fat_peak.load();
    while (now > peak && !fat_peak.compare_exchange_weak(peak, now)) {
    }
  }
};
static_assert(sizeof(Fat) == 256);

constexpr std::uint64_t kBudget = 1 << 20;
// 10 MiB of records in 4 partitions of 2.5 MiB: none fits in a budget of 1 MiB.
constexpr int kFatRecords = 40'000;
constexpr std::size_t kFatPartitions = 4;
// Records a task holds outside what it keeps: the one it computes, its copy on the way in, the
// one read back from disk; a few per task thread.
constexpr long kInFlight = 16;

std::vector<int> ids(int n) {
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

spate::Context budget_context(const std::string& master, int task_attempts = 4) {
  return spate::Context(spate::Options{
      .master = master, .task_attempts = task_attempts, .executor_memory = kBudget, .progress = false, .ui = false});
}

// kFatPartitions partitions of a Fat per input number, each computation counted in `computed`.
template <class Counter>
spate::Dataset<Fat> counted_fat_records(spate::Context& ctx, const std::vector<int>& input, Counter computed) {
  return ctx.parallelize(input, kFatPartitions).map([computed](int x) {
    computed.add(1);
    return Fat(x);
  });
}

// Waits until the pool is back to `used` bytes: tasks of a failed job that were still running
// when it failed end a moment later.
bool pool_returns_to(spate::Context& ctx, std::uint64_t used) {
  auto& pool = ctx.engine()->block_store().memory();
  for (int i = 0; i < 200 && pool.used() != used; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return pool.used() == used;
}

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

TEST_CASE("memory_and_disk past the budget holds no more records than the budget grants and loses none") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = budget_context(master);
  auto computed = ctx.accumulator<long>();
  auto input = ids(kFatRecords);
  reset_peak();
  auto persisted = counted_fat_records(ctx, input, computed).persist(StorageLevel::memory_and_disk);
  REQUIRE(persisted.count() == input.size());
  if (!in_processes(ctx)) {
    // Before the unrolling, the whole partition (10,000 records) was held before it was kept.
    CHECK(fat_peak.load() <= static_cast<long>(kBudget / sizeof(Fat)) + kInFlight);
    auto& blocks = ctx.engine()->block_store();
    CHECK(blocks.cached_bytes() == 0);
    CHECK(blocks.cached_disk_bytes() > 0);
    CHECK(blocks.memory().used() == 0);
  }
  CHECK(ctx.engine()->counter("cache.unroll.spilled") == kFatPartitions);
  auto back = persisted.map([](const Fat& f) { return static_cast<int>(f.id); });
  REQUIRE(back.collect() == input);  // read from disk, in order
  REQUIRE(back.collect() == input);
  CHECK(computed.value() == kFatRecords);
  persisted.unpersist();
}

TEST_CASE("memory_only past the budget passes every record on, keeps none and computes the partition again") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = budget_context(master);
  auto computed = ctx.accumulator<long>();
  auto input = ids(kFatRecords);
  reset_peak();
  auto persisted = counted_fat_records(ctx, input, computed).persist(StorageLevel::memory_only);
  REQUIRE(persisted.count() == input.size());
  if (!in_processes(ctx)) {
    CHECK(fat_peak.load() <= static_cast<long>(kBudget / sizeof(Fat)) + kInFlight);
    auto& blocks = ctx.engine()->block_store();
    CHECK(blocks.cached_bytes() == 0);
    CHECK(blocks.cached_disk_bytes() == 0);
    CHECK(blocks.memory().used() == 0);
  }
  CHECK(computed.value() == kFatRecords);
  REQUIRE(persisted.map([](const Fat& f) { return static_cast<int>(f.id); }).collect() == input);
  CHECK(computed.value() == 2 * kFatRecords);  // not kept: computed again
  CHECK(ctx.engine()->counter("cache.unroll.dropped") == 2 * kFatPartitions);
  persisted.unpersist();
}

TEST_CASE("a partition that fits is kept in memory once, computed once, and charged what it holds") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto level = GENERATE(StorageLevel::memory_only, StorageLevel::memory_and_disk);
  CAPTURE(spate::to_string(level));
  auto spilled = ctx.engine()->counter("cache.unroll.spilled");
  auto dropped = ctx.engine()->counter("cache.unroll.dropped");
  auto computed = ctx.accumulator<long>();
  auto input = ids(3000);
  auto persisted = ctx.parallelize(input, 3).map([computed](int x) {
    computed.add(1);
    return std::pair<int, std::string>(x, std::to_string(x));
  }).persist(level);
  auto& blocks = ctx.engine()->block_store();
  std::uint64_t used_before = blocks.memory().used(), cached_before = blocks.cached_bytes();
  for (int round = 0; round < 3; ++round) {
    auto back = persisted.collect();
    REQUIRE(back.size() == input.size());
    for (std::size_t i = 0; i < back.size(); ++i) REQUIRE(back[i] == std::pair(input[i], std::to_string(input[i])));
  }
  CHECK(computed.value() == static_cast<long>(input.size()));
  CHECK(ctx.engine()->counter("cache.unroll.spilled") == spilled);
  CHECK(ctx.engine()->counter("cache.unroll.dropped") == dropped);
  if (!in_processes(ctx)) {
    // Each partition is charged its records exactly (shrunk to fit), and holds that much of the pool.
    std::uint64_t charged = input.size() * sizeof(std::pair<int, std::string>);
    CHECK(blocks.cached_bytes() - cached_before == charged);
    CHECK(blocks.memory().used() - used_before == charged);
    CHECK(blocks.cached_disk_bytes() == 0);
    persisted.unpersist();
    CHECK(blocks.memory().used() == used_before);
  } else {
    persisted.unpersist();
  }
}

TEST_CASE("a task that throws midway through a persisted partition keeps nothing and gives its memory back") {
  auto master = SPATE_LOCAL_TEST_MASTER();
  auto level = GENERATE(StorageLevel::memory_only, StorageLevel::memory_and_disk);
  auto budget = GENERATE(as<std::uint64_t>{}, kBudget, std::uint64_t{256} << 20);  // past it, and within it
  CAPTURE(master, spate::to_string(level), budget);
  spate::Context ctx(spate::Options{
      .master = master, .task_attempts = 1, .executor_memory = budget, .progress = false, .ui = false});
  auto& blocks = ctx.engine()->block_store();
  std::uint64_t used_before = blocks.memory().used();
  constexpr int kPerPartition = kFatRecords / static_cast<int>(kFatPartitions);
  // Every partition fails in its middle, so no task of the job completes.
  auto failing = ctx.parallelize(ids(kFatRecords), kFatPartitions).map([](int x) {
    if (x % kPerPartition == kPerPartition / 2) throw std::runtime_error("record " + std::to_string(x) + " is bad");
    return Fat(x);
  }).persist(level);
  CHECK_THROWS_AS(failing.count(), spate::job_error);
  CHECK(pool_returns_to(ctx, used_before));
  CHECK(blocks.cached_bytes() == 0);
  CHECK(blocks.cached_disk_bytes() == 0);
  CHECK(ctx.engine()->counter("cache.unroll.spilled") == 0);  // failed attempts count nothing
}

TEST_CASE("a persisted partition read by a consumer that stops early is still computed and kept whole") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto level : kLevels) {
    CAPTURE(spate::to_string(level));
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto input = ids(20'000);
    auto persisted = ctx.parallelize(input, 4).map([c](int x) {
      c->fetch_add(1);
      return x;
    }).persist(level);
    auto firsts = persisted.map_partitions_with_index([](std::size_t, spate::PartitionRecords<int>& records) {
      std::vector<int> out;
      for (int x : records) {
        out.push_back(x);
        if (out.size() == 3) break;
      }
      return out;
    });
    REQUIRE(firsts.collect() == std::vector<int>{0, 1, 2, 5000, 5001, 5002, 10000, 10001, 10002, 15000, 15001, 15002});
    CHECK(calls.load() == static_cast<int>(input.size()));
    REQUIRE(persisted.collect() == input);
    CHECK(calls.load() == static_cast<int>(input.size()));  // read from where it was kept
    persisted.unpersist();
  }
}

TEST_CASE("a consumer that stops early on a partition memory_only could not keep stops its computation") {
  spate::Context ctx(spate::Options{.master = "local[2]", .executor_memory = kBudget, .progress = false, .ui = false});
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto persisted = ctx.parallelize(ids(kFatRecords), kFatPartitions).map([c](int x) {
    c->fetch_add(1);
    return Fat(x);
  }).persist(StorageLevel::memory_only);
  auto firsts = persisted.map_partitions_with_index([](std::size_t, spate::PartitionRecords<Fat>& records) {
    std::vector<int> out;
    for (const Fat& f : records) {
      out.push_back(static_cast<int>(f.id));
      if (out.size() == 5000) break;  // past what the budget lets it keep
    }
    return out;
  });
  REQUIRE(firsts.count() == 5000 * kFatPartitions);
  // Dropped, so nothing is gained by computing the rest; batches read ahead bound what was.
  CHECK(calls.load() < kFatRecords);
}
