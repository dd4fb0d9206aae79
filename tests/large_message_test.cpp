// Messages of any size between processes: one shuffle block and one collect result of more
// than 1.5 GiB each travel between real executor processes in local-cluster[2], past the
// 512 MiB frame limit, and arrive byte for byte. Slow (a minute, several GiB of memory): hidden
// from the default run; tests/CMakeLists.txt registers it as the ctest test large_messages.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

constexpr std::size_t kRecordBytes = std::size_t{1} << 20;
constexpr int kRecords = 1600;  // 1.6 GiB in one bucket

// Record i's value: 8 bytes of the map task's pid, then incompressible bytes that depend on i,
// so that neither LZ4 nor a mix-up of records goes unnoticed.
std::string value_of(int i, std::uint64_t pid) {
  std::string v(kRecordBytes, '\0');
  std::uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(i + 1);
  for (std::size_t at = 8; at + 8 <= v.size(); at += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(v.data() + at, &x, 8);
  }
  std::memcpy(v.data(), &pid, 8);
  return v;
}

std::uint64_t pid_in(const std::string& v) {
  std::uint64_t pid = 0;
  std::memcpy(&pid, v.data(), 8);
  return pid;
}

}  // namespace

TEST_CASE("a 1.6 GiB shuffle block and a 1.6 GiB collect result cross between executor processes",
          "[.][large]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .task_attempts = 1, .print_metrics = true});
  // Every record goes to reduce partition 1, from map partition 0: one bucket holds them all.
  int key = 0;
  while (spate::HashPartitioner(2)(key) != 1) ++key;
  std::vector<int> ids(2 * kRecords);
  for (int i = 0; i < 2 * kRecords; ++i) ids[static_cast<std::size_t>(i)] = i;
  auto result = ctx.parallelize(ids, 2)
                    .filter([](int i) { return i < kRecords; })
                    .map([key](int i) {
                      return std::pair<int, std::string>(key, value_of(i, static_cast<std::uint64_t>(::getpid())));
                    })
                    .partition_by(spate::HashPartitioner(2))
                    .map([](const std::pair<int, std::string>& kv) {
                      return std::tuple<int, std::string, std::uint64_t>(kv.first, kv.second,
                                                                         static_cast<std::uint64_t>(::getpid()));
                    })
                    .collect();
  REQUIRE(result.size() == static_cast<std::size_t>(kRecords));
  const std::uint64_t map_pid = pid_in(std::get<1>(result[0]));
  const std::uint64_t reduce_pid = std::get<2>(result[0]);
  CHECK(map_pid != static_cast<std::uint64_t>(::getpid()));
  CHECK(reduce_pid != static_cast<std::uint64_t>(::getpid()));
  // The block crossed between the two executors (the scheduler gives the first task of each
  // stage to the same executor, so the reduce task reading partition 1 runs on the other one).
  CHECK(map_pid != reduce_pid);
  std::vector<bool> seen(kRecords, false);
  std::size_t wrong = 0;
  for (const auto& [k, v, pid] : result) {
    if (k != key || v.size() != kRecordBytes || pid != reduce_pid) {
      ++wrong;
      continue;
    }
    // Which record is it? The first 8 random bytes identify i; compare the whole value.
    bool found = false;
    for (int i = 0; i < kRecords && !found; ++i) {
      if (seen[static_cast<std::size_t>(i)]) continue;
      std::uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(i + 1);
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      if (std::memcmp(v.data() + 8, &x, 8) != 0) continue;
      found = v == value_of(i, map_pid);
      if (found) seen[static_cast<std::size_t>(i)] = true;
    }
    if (!found) ++wrong;
  }
  CHECK(wrong == 0);
}
