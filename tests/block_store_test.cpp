// BlockStore's cached partitions and the memory they hold: a partition put with the reservation
// its task made keeps exactly its bytes of the pool, and gives them back when it is replaced or
// dropped.
#include <memory>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "test_support.hpp"

namespace {

using spate::detail::BlockStore;
using spate::detail::MemoryReservation;

std::shared_ptr<const void> some_block() { return std::make_shared<const std::vector<int>>(10, 1); }

}  // namespace

TEST_CASE("a cached partition put with its task's reservation keeps its bytes of it and returns the rest") {
  BlockStore store;
  store.set_budget(1 << 20);
  MemoryReservation grown(store.memory());
  REQUIRE(grown.cover(5000));
  store.put_cached_reserved(1, 0, some_block(), 3000, grown);
  CHECK(grown.held() == 0);
  CHECK(store.memory().used() == 3000);
  CHECK(store.cached_bytes() == 3000);
  CHECK(store.cached_entry(1, 0).block);
  CHECK_FALSE(store.cached_entry(1, 0).on_disk);
  store.drop_cached(1);
  CHECK(store.memory().used() == 0);
  CHECK(store.cached_bytes() == 0);
}

TEST_CASE("a cached partition put with a reservation replaces an earlier copy and frees that one's memory") {
  BlockStore store;
  store.set_budget(1 << 20);
  REQUIRE(store.put_cached_block(1, 0, some_block(), 1000));
  MemoryReservation grown(store.memory());
  REQUIRE(grown.cover(2000));
  store.put_cached_reserved(1, 0, some_block(), 2000, grown);
  CHECK(store.memory().used() == 2000);
  CHECK(store.cached_bytes() == 2000);
}

TEST_CASE("a reservation that is short of the partition or of another pool is refused and nothing is stored") {
  BlockStore store;
  store.set_budget(1 << 20);
  MemoryReservation small(store.memory());
  REQUIRE(small.cover(100));
  CHECK_THROWS_WITH(store.put_cached_reserved(1, 0, some_block(), 200, small),
                    Catch::Contains("partition 0 of node 1") && Catch::Contains("holds 100"));
  MemoryReservation other(store.output_memory());
  REQUIRE(other.cover(300));
  CHECK_THROWS_WITH(store.put_cached_reserved(1, 0, some_block(), 200, other), Catch::Contains("another pool"));
  CHECK_FALSE(store.cached_entry(1, 0).block);
  CHECK(small.held() == 100);
  CHECK(store.memory().used() == 100);
  CHECK(store.cached_bytes() == 0);
}
