// PartitionUnroller on its own, against a block store with a small budget: what it reserves while
// a partition grows, where it stores the partition, and that a task ending early leaves nothing.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "spate/detail/partition_unroller.hpp"
#include "test_support.hpp"

namespace {

using spate::StorageLevel;
using spate::detail::BlockStore;
using spate::detail::DiskPartition;
using spate::detail::PartitionUnroller;
using spate::detail::RunReader;
using spate::detail::TaskContext;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kNode = 7;

std::vector<std::string> records(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back("record " + std::to_string(i));
  return v;
}

// The records of a stored partition, from memory or from its spill file.
std::vector<std::string> read_back(const BlockStore& store, std::size_t p) {
  auto entry = store.cached_entry(kNode, p);
  REQUIRE(entry.block);
  if (!entry.on_disk) return *std::static_pointer_cast<const std::vector<std::string>>(entry.block);
  const auto& disk = *std::static_pointer_cast<const DiskPartition>(entry.block);
  RunReader<std::string> reader(*disk.file, 0, disk.file->size());
  std::vector<std::string> out;
  while (auto x = reader.next()) out.push_back(std::move(*x));
  CHECK(disk.records == out.size());
  return out;
}

std::uint64_t counter(const TaskContext& tc, const std::string& name) {
  for (const auto& [k, v] : tc.counters())
    if (k == name) return v;
  return 0;
}

}  // namespace

TEST_CASE("an unrolled partition that fits is stored in memory holding exactly what it is charged") {
  BlockStore store;
  store.set_budget(1024 * kKiB);
  TaskContext tc(store, 0, 0, 1);
  auto want = records(1000);
  bool covered = true;
  {
    PartitionUnroller<std::string> unroller(tc, StorageLevel::memory_only);
    for (std::size_t i = 0; i < want.size(); ++i) {
      unroller.keep(want[i]);
      covered = covered && store.memory().used() >= (i + 1) * sizeof(std::string);
    }
    unroller.finish(kNode, 0);
  }
  CHECK(covered);  // every record kept was reserved before it was kept
  CHECK(store.cached_bytes() == want.size() * sizeof(std::string));  // shrunk to fit, then charged
  CHECK(store.memory().used() == store.cached_bytes());              // the reservation, handed over
  CHECK(read_back(store, 0) == want);
  CHECK(tc.cached_nodes() == std::vector<std::uint64_t>{kNode});
  store.drop_cached(kNode);
  CHECK(store.memory().used() == 0);
}

TEST_CASE("memory_and_disk moves a partition that outgrows the budget to disk, in order, and frees its memory") {
  BlockStore store;
  store.set_budget(64 * kKiB);
  TaskContext tc(store, 0, 0, 1);
  auto want = records(20'000);  // 640 KiB charged as vectors of std::string
  std::uint64_t most = 0;
  {
    PartitionUnroller<std::string> unroller(tc, StorageLevel::memory_and_disk);
    for (const auto& r : want) {
      unroller.keep(r);
      most = std::max(most, store.memory().used());
    }
    CHECK(store.memory().used() == 0);  // past the budget, every record goes to the file
    unroller.finish(kNode, 0);
  }
  CHECK(most > 0);  // it did unroll into memory first
  CHECK(most <= store.budget());
  CHECK(store.cached_bytes() == 0);
  CHECK(store.cached_disk_bytes() > 0);
  CHECK(store.cached_entry(kNode, 0).on_disk);
  CHECK(read_back(store, 0) == want);  // what was unrolled first, then the rest
  CHECK(counter(tc, "cache.unroll.spilled") == 1);
  CHECK(tc.cached_nodes() == std::vector<std::uint64_t>{kNode});
}

TEST_CASE("memory_only stops keeping a partition that outgrows the budget and stores nothing") {
  BlockStore store;
  store.set_budget(64 * kKiB);
  TaskContext tc(store, 0, 0, 1);
  {
    PartitionUnroller<std::string> unroller(tc, StorageLevel::memory_only);
    for (const auto& r : records(20'000)) unroller.keep(r);
    CHECK(store.memory().used() == 0);
    unroller.finish(kNode, 0);
  }
  CHECK_FALSE(store.cached_entry(kNode, 0).block);
  CHECK(store.cached_bytes() == 0);
  CHECK(store.memory().used() == 0);
  CHECK(counter(tc, "cache.unroll.dropped") == 1);
  CHECK(tc.cached_nodes().empty());
}

TEST_CASE("a partition left unfinished by a failing task stores nothing and gives its memory back") {
  auto level = GENERATE(StorageLevel::memory_only, StorageLevel::memory_and_disk, StorageLevel::disk_only);
  auto n = GENERATE(as<std::size_t>{}, 100, 20'000);  // within the budget, and past it
  CAPTURE(spate::to_string(level), n);
  BlockStore store;
  store.set_budget(64 * kKiB);
  TaskContext tc(store, 0, 0, 1);
  {
    PartitionUnroller<std::string> unroller(tc, level);
    for (const auto& r : records(n)) unroller.keep(r);
  }  // no finish(): the task threw
  CHECK(store.memory().used() == 0);
  CHECK_FALSE(store.cached_entry(kNode, 0).block);
  CHECK(store.cached_bytes() == 0);
  CHECK(store.cached_disk_bytes() == 0);
  CHECK(tc.cached_nodes().empty());
}

TEST_CASE("disk_only writes every record to disk and reserves no memory") {
  BlockStore store;
  store.set_budget(64 * kKiB);
  TaskContext tc(store, 0, 0, 1);
  auto want = records(5000);
  {
    PartitionUnroller<std::string> unroller(tc, StorageLevel::disk_only);
    for (const auto& r : want) {
      unroller.keep(r);
      REQUIRE(store.memory().used() == 0);
    }
    unroller.finish(kNode, 3);
  }
  CHECK(store.cached_entry(kNode, 3).on_disk);
  CHECK(read_back(store, 3) == want);
  CHECK(counter(tc, "cache.unroll.spilled") == 0);
}
