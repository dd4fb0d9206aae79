// Unified memory: a task that needs memory held by idle shuffle outputs gets it, because the
// block store moves those outputs to disk; readers see the same bytes before and after.
#include <memory>
#include <string>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/map_output_builder.hpp"
#include "test_support.hpp"

using spate::detail::BlockStore;
using spate::detail::MemoryReservation;
using spate::detail::SerializedMapOutput;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

// A map output of `buckets` buckets of `bytes` each, holding its size against the store's pool.
std::shared_ptr<SerializedMapOutput> output_in_memory(BlockStore& store, std::size_t buckets, std::size_t bytes,
                                                      char fill) {
  std::vector<std::string> chunks(buckets);
  std::vector<std::uint32_t> ends;
  for (std::size_t b = 0; b < buckets; ++b) {
    spate::detail::append_chunk(chunks[b], std::string(bytes, static_cast<char>(fill + b)), spate::detail::Codec::none);
    ends.push_back(static_cast<std::uint32_t>(b + 1));
  }
  auto memory = std::make_unique<MemoryReservation>(store.memory());
  REQUIRE(memory->cover(buckets * bytes));
  auto output_memory = std::make_unique<MemoryReservation>(store.output_memory());
  output_memory->cover(buckets * bytes);
  return std::make_shared<SerializedMapOutput>(std::move(chunks), std::move(ends), buckets, std::move(memory),
                                               std::move(output_memory));
}

// Bucket r's raw bytes, read back as a reducer reads them.
std::string raw_bucket(const spate::detail::MapOutput& out, std::size_t r) {
  std::string raw;
  spate::detail::ChunkDecoder decoder;
  out.read_bucket(r, [&](std::string_view piece) { decoder.feed(piece, [&](std::string_view c) { raw += c; }); });
  decoder.finish();
  return raw;
}

}  // namespace

TEST_CASE("a refused reservation moves idle map outputs to disk and then succeeds") {
  BlockStore store;
  store.set_budget(16 * kMiB);
  store.put_map_output(1, 0, output_in_memory(store, 2, 3 * kMiB, 'a'));  // 6 MiB
  store.put_map_output(1, 1, output_in_memory(store, 2, 2 * kMiB, 'x'));  // 4 MiB
  REQUIRE(store.memory().used() >= 10 * kMiB);

  MemoryReservation table(store.memory());
  CHECK(table.cover(9 * kMiB));  // only 6 MiB were free: the larger output went to disk
  CHECK(store.map_output(1, 0)->memory_bytes() == 0);
  CHECK(dynamic_cast<const SerializedMapOutput*>(store.map_output(1, 0).get()) == nullptr);
  CHECK(store.map_output(1, 1)->memory_bytes() > 0);  // enough was freed without it
  CHECK(raw_bucket(*store.map_output(1, 0), 1) == std::string(3 * kMiB, 'b'));
  CHECK(store.map_output(1, 0)->records() == 2);
  CHECK(store.memory().used() <= 16 * kMiB);
}

TEST_CASE("an output being read stays whole while it moves to disk, and its memory is freed after") {
  BlockStore store;
  store.set_budget(8 * kMiB);
  store.put_map_output(2, 0, output_in_memory(store, 1, 6 * kMiB, 'q'));
  auto reader = store.map_output(2, 0);  // a reducer in the middle of reading it
  std::string_view bytes = dynamic_cast<const SerializedMapOutput&>(*reader).chunks_of(0)[0];

  MemoryReservation table(store.memory());
  CHECK_FALSE(table.cover(6 * kMiB));  // moved, but its memory is the reader's until it lets go
  CHECK(raw_bucket(*reader, 0) == std::string(6 * kMiB, 'q'));
  CHECK(bytes.size() > 6 * kMiB);  // still valid: the reader's output has not moved
  CHECK(store.map_output(2, 0)->memory_bytes() == 0);
  reader.reset();
  CHECK(table.cover(6 * kMiB));
}

TEST_CASE("a reservation that nothing can make room for is refused") {
  BlockStore store;
  store.set_budget(4 * kMiB);
  MemoryReservation a(store.memory());
  REQUIRE(a.cover(3 * kMiB));
  MemoryReservation b(store.memory());
  CHECK_FALSE(b.cover(2 * kMiB));
  CHECK(b.held() == 0);
}
