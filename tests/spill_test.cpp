// Spilling: sorts and aggregations larger than the memory budget write sorted runs to spill
// files and merge them, with the same result as in memory (stable sorts; groups keep their
// values' arrival order), in this process and in executors; spill files never outlive a task.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace spate_test;
namespace fs = std::filesystem;

namespace {

// Open files of this process under `dir`: a spill file is one while a task holds it.
int open_files_under(const fs::path& dir) {
  int n = 0;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(fd.path(), ec);
    if (!ec && target.string().starts_with(dir.string())) ++n;
  }
  return n;
}

std::vector<std::pair<long, long>> random_long_pairs(std::size_t n, long keys) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> k(0, keys - 1);
  std::vector<std::pair<long, long>> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = {k(rng), static_cast<long>(i)};
  return v;
}

struct SpillDir {
  fs::path path = fs::temp_directory_path() / ("spate-spill-test-" + std::to_string(::getpid()));
  SpillDir() {
    fs::create_directories(path);
    ::setenv("SPATE_SPILL_DIR", path.c_str(), 1);
  }
  ~SpillDir() {
    ::unsetenv("SPATE_SPILL_DIR");
    fs::remove_all(path);
  }
};

// Flips one byte in the middle of every spill file this process holds open, the first time it
// is called in this process; returns how many files it damaged.
int damage_spill_files_once() {
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return 0;
  const char* dir = std::getenv("SPATE_SPILL_DIR");
  if (dir == nullptr) return 0;
  int damaged = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    if (ec || !target.string().starts_with(dir)) continue;
    int fd = std::stoi(entry.path().filename().string());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size == 0) continue;
    char byte = 0;
    off_t at = st.st_size / 2;
    if (::pread(fd, &byte, 1, at) != 1) continue;
    byte = static_cast<char>(byte ^ 0x5a);
    if (::pwrite(fd, &byte, 1, at) == 1) ++damaged;
  }
  return damaged;
}

}  // namespace

TEST_CASE("a sort larger than the memory budget spills sorted runs and merges them, stably", "[spill]") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  SpillDir dir;
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  // 1.5 million records (about 24 MB in memory) with many equal keys, in 3 partitions.
  auto data = random_long_pairs(1'500'000, 5000);
  auto sorted_ds = ctx.parallelize(data, 3).sort_by_key(true, 2);
  auto got = sorted_ds.collect();
  auto want = data;
  std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  CHECK(got == want);  // stable: equal keys keep their input order
  CHECK(ctx.engine()->counter("spill.bytes") > 0);
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("aggregations larger than the memory budget spill and give the in-memory result", "[spill]") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  SpillDir dir;
  auto data = random_long_pairs(600'000, 200'000);
  std::map<long, std::vector<long>> groups;
  std::map<long, long> sums;
  for (const auto& [k, v] : data) {
    groups[k].push_back(v);  // arrival order: the input order, partition after partition
    sums[k] += v;
  }
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  auto ds = ctx.parallelize(data, 4);
  auto grouped = ds.group_by_key(2).collect();
  CHECK(std::map<long, std::vector<long>>(grouped.begin(), grouped.end()) == groups);
  CHECK(grouped.size() == groups.size());
  auto reduced = ds.reduce_by_key(std::plus<>{}, 2).collect();
  CHECK(std::map<long, long>(reduced.begin(), reduced.end()) == sums);
  CHECK(ctx.engine()->counter("spill.bytes") > 0);
}

TEST_CASE("aggregations by string key larger than the memory budget spill and give the in-memory result",
          "[spill]") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  SpillDir dir;
  std::vector<std::pair<std::string, long>> data;
  std::map<std::string, long> sums;
  for (const auto& [k, v] : random_long_pairs(400'000, 150'000)) {
    // Short keys live in the table's slots, long ones in its arena: both kinds spill.
    std::string key = k % 3 == 0 ? fmt::format("a-long-key-stored-apart-{:08}", k) : fmt::format("k{}", k);
    sums[key] += v;
    data.emplace_back(std::move(key), v);
  }
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  auto reduced = ctx.parallelize(data, 4).reduce_by_key(std::plus<>{}, 2).collect();
  CHECK(reduced.size() == sums.size());
  CHECK(std::map<std::string, long>(reduced.begin(), reduced.end()) == sums);
  CHECK(ctx.engine()->counter("spill.bytes") > 0);
}

TEST_CASE("spill files are gone when a job ends, also when it fails", "[spill]") {
  SpillDir dir;
  {
    spate::Context ctx(spate::Options{.master = "local[2]", .task_attempts = 1, .executor_memory = 1 << 20});
    auto data = random_long_pairs(1'000'000, 1000);
    auto failing = ctx.parallelize(data, 2).sort_by_key(true, 2).map([](const std::pair<long, long>& r) {
      if (r.second == 999'999) throw std::runtime_error("fails after the sort spilled");
      return r;
    });
    CHECK_THROWS_AS(failing.count(), spate::job_error);
    CHECK(ctx.engine()->counter("spill.bytes") > 0);  // the tasks did spill
    // The sort's runs are gone with its tasks; what stays open is the spilled map outputs of
    // the shuffle (at most one file per map partition), kept for later jobs as Spark keeps
    // shuffle files.
    CHECK(open_files_under(dir.path) <= 2);
    CHECK(fs::is_empty(dir.path));  // nothing has a name there, ever
    CHECK(ctx.parallelize(data, 2).sort_by_key(true, 2).count() == 1'000'000);
    CHECK(open_files_under(dir.path) <= 4);
  }
  CHECK(open_files_under(dir.path) == 0);  // the Context's end frees the map outputs' files
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("a hot key's group spilled in pieces comes back whole and in arrival order", "[spill]") {
  SpillDir dir;
  std::vector<std::pair<long, long>> data;
  // 15/16 of the records on key 0: its list (12 MB) spills in pieces more than once.
  for (long i = 0; i < 1'600'000; ++i) data.emplace_back(i % 16 == 15 ? i : 0, i);
  std::vector<long> hot;
  for (const auto& [k, v] : data)
    if (k == 0) hot.push_back(v);
  spate::Context ctx(spate::Options{.master = "local[2]", .executor_memory = 1 << 20});
  auto groups = ctx.parallelize(data, 4).group_by_key(2).collect();
  CHECK(ctx.engine()->counter("spill.bytes") > 0);
  std::size_t found = 0;
  for (const auto& [k, vs] : groups) {
    if (k != 0) {
      CHECK(vs == std::vector<long>{k});
      continue;
    }
    ++found;
    CHECK(vs == hot);
  }
  CHECK(found == 1);
  CHECK(groups.size() == 1 + 100'000);
}

TEST_CASE("a join larger than the memory budget spills its groups and gives the in-memory result", "[spill]") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  SpillDir dir;
  auto left = random_long_pairs(500'000, 50'000);
  auto right = random_long_pairs(200'000, 60'000);
  std::map<long, std::vector<long>> l, r;
  for (const auto& [k, v] : left) l[k].push_back(v);
  for (const auto& [k, v] : right) r[k].push_back(v);
  std::vector<std::pair<long, std::pair<long, long>>> want;
  for (const auto& [k, vs] : l)
    if (auto it = r.find(k); it != r.end())
      for (long v : vs)
        for (long w : it->second) want.push_back({k, {v, w}});
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  auto got = ctx.parallelize(left, 4).join(ctx.parallelize(right, 3), 2).collect();
  CHECK(ctx.engine()->counter("spill.bytes") > 0);
  CHECK(sorted(got) == sorted(want));
  // Each key's values keep their arrival order: the left values of key k, in input order.
  std::set<long> keys;
  for (const auto& [k, vs] : l) keys.insert(k);
  for (const auto& [k, vs] : r) keys.insert(k);
  auto groups = ctx.parallelize(left, 4).cogroup(ctx.parallelize(right, 3)).collect();
  CHECK(groups.size() == keys.size());
  for (const auto& [k, g] : groups) {
    CHECK(g.first == l[k]);
    CHECK(g.second == r[k]);
  }
}

TEST_CASE("a spilled map output damaged on disk is computed again, and the answer is exact", "[spill]") {
  // One executor slot, so that map task 1 runs after map task 0's output went to disk, and
  // damages it before any reducer reads it.
  auto master = GENERATE(as<std::string>{}, "local[1]", "local-cluster[1]");
  SpillDir dir;
  // About 7 MB per map output, random letters that LZ4 cannot shrink much: past the 4 MiB
  // under which an output never spills.
  std::mt19937_64 rng(7);
  std::vector<std::pair<long, std::string>> data;
  for (const auto& [k, v] : random_long_pairs(300'000, 1'000'000)) {
    std::string letters(40, ' ');
    for (char& c : letters) c = static_cast<char>('a' + rng() % 26);
    data.emplace_back(k, std::move(letters));
  }
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  auto got = ctx.parallelize(data, 2)
                 .map([](const std::pair<long, std::string>& kv) {
                   if (spate::this_task()->partition == 1) damage_spill_files_once();
                   return kv;
                 })
                 .partition_by(spate::HashPartitioner(3))
                 .collect();
  CHECK(sorted(got) == sorted(data));
  CHECK(ctx.engine()->counter("tasks.fetch_failed") >= 1);
  bool named = false;
  for (const auto& a : ctx.engine()->task_attempts())
    if (a.outcome == spate::detail::TaskAttempt::Outcome::fetch_failed)
      named = named || (a.message.find("in this process is damaged") != std::string::npos &&
                        a.message.find("spill file in '" + dir.path.string() + "'") != std::string::npos &&
                        a.message.find("offset") != std::string::npos);
  CHECK(named);
}
