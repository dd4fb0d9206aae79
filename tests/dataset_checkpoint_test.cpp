// Tests of checkpoint() and local_checkpoint(): the same records and partitioner as the dataset
// they cut, no recomputation of what came before, files that go with the last handle, a
// checkpoint that outlives a killed executor and a local checkpoint that says it cannot, deep
// lineages cut every few hundred levels, and damaged or missing files reported by name.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;

using namespace spate_test;
namespace fs = std::filesystem;

// Every file under dir (recursively), for checking what a checkpoint left behind.
std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) out.push_back(it->path());
  return out;
}

std::vector<std::pair<int, long>> squares(int n) {
  std::vector<std::pair<int, long>> v;
  for (int i = 0; i < n; ++i) v.emplace_back(i % 13, static_cast<long>(i) * i);
  return v;
}

// Kills one live executor with SIGKILL and waits until the driver has noticed.
void kill_one_executor(const spate::Context& ctx) {
  for (const auto& e : ctx.engine()->executors()) {
    if (!e.alive) continue;
    REQUIRE(::kill(static_cast<pid_t>(e.pid), SIGKILL) == 0);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& x : ctx.engine()->executors())
        if (x.id == e.id && !x.alive) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the driver did not notice that " << e.id << " died");
  }
  FAIL("no live executor");
}

}  // namespace

TEST_CASE("checkpoint without a checkpoint directory says how to set one") {
  spate::Context ctx(spate::Options{.master = "local[2]", .ui = false});
  auto ds = ctx.parallelize(std::vector<int>{1, 2, 3});
  REQUIRE_THROWS_WITH(ds.checkpoint(), Catch::Contains("set_checkpoint_dir") && Catch::Contains("--checkpoint-dir"));
}

TEST_CASE("an s3:// checkpoint directory is refused, pointing to object files") {
  spate::Context ctx(spate::Options{.master = "local[2]", .ui = false});
  REQUIRE_THROWS_WITH(ctx.set_checkpoint_dir("s3://bucket/checkpoints/"),
                      Catch::Contains("s3://bucket/checkpoints/") && Catch::Contains("save_as_object_file"));
  REQUIRE_THROWS_WITH(spate::Context(spate::Options{.master = "local[2]",
                                                    .checkpoint_dir = "s3://bucket/checkpoints/",
                                                    .ui = false}),
                      Catch::Contains("s3://bucket/checkpoints/"));
}

TEST_CASE("a checkpointed dataset holds the same partitions and runs nothing before the cut again") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir dir;
  ctx.set_checkpoint_dir(dir.str());
  for (bool local : {false, true}) {
    CAPTURE(local);
    auto calls = ctx.accumulator<long>();
    auto summed = ctx.parallelize(squares(2000), 5).reduce_by_key(std::plus<>{}, 4).map_values([calls](long v) {
      calls.add(1);
      return v;
    });
    auto want = partitions_of(summed);
    CHECK(calls.value() == 13);
    auto cut = local ? summed.local_checkpoint() : summed.checkpoint();
    CHECK(calls.value() == 26);  // the cut computed the dataset once
    CHECK(partitions_of(cut) == want);
    CHECK(cut.count() == 13);
    REQUIRE(summed.partitioner() != nullptr);
    CHECK(cut.partitioner() == summed.partitioner());
    // A by-key operator on the cut keeps its partitioning and shuffles nothing.
    auto again = cut.reduce_by_key(std::plus<>{});
    CHECK(again.partitioner() == summed.partitioner());
    CHECK(partitions_of(again) == want);
    CHECK(calls.value() == 26);  // nothing before the cut ran again
  }
}

TEST_CASE("a checkpoint's files are committed part files that go with the last handle") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir dir;
  ctx.set_checkpoint_dir(dir.str());
  {
    auto cut = ctx.parallelize(squares(500), 3).checkpoint();
    auto files = files_under(dir.str());
    std::vector<std::string> names;
    for (const auto& f : files) names.push_back(f.filename().string());
    CHECK(sorted(names) == std::vector<std::string>{"_SUCCESS", "part-00000", "part-00001", "part-00002"});
    CHECK(cut.count() == 500);
  }
  // The scheduler lets go of the last job's lineage just after the job has returned.
  for (int i = 0; i < 500 && !fs::is_empty(dir.str()); ++i) std::this_thread::sleep_for(10ms);
  CHECK(files_under(dir.str()).empty());
  CHECK(fs::is_empty(dir.str()));  // the Context's own directory under it is gone too
}

TEST_CASE("a checkpoint written in the checkpoint directory outlives a killed executor") {
  spate::Context ctx(spate::Options{.master = "local-cluster[3]", .ui = false});
  TempDir dir;
  ctx.set_checkpoint_dir(dir.str());
  auto calls = ctx.accumulator<long>();
  auto cut = ctx.parallelize(squares(3000), 6)
                 .map([calls](std::pair<int, long> kv) {
                   calls.add(1);
                   return kv;
                 })
                 .checkpoint();
  CHECK(calls.value() == 3000);
  kill_one_executor(ctx);
  auto sums = sorted(cut.reduce_by_key(std::plus<>{}, 3).collect());
  std::map<int, long> want;
  for (const auto& [k, v] : squares(3000)) want[k] += v;
  CHECK(sums == std::vector<std::pair<int, long>>(want.begin(), want.end()));
  CHECK(calls.value() == 3000);  // read again from the files, never recomputed
}

TEST_CASE("a local checkpoint lost with its executor fails the action and says why") {
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .task_attempts = 2, .ui = false});
  auto cut = ctx.parallelize(squares(1000), 8).local_checkpoint();
  CHECK(cut.count() == 1000);  // read where the partitions are
  CHECK(cut.count() == 1000);
  kill_one_executor(ctx);
  REQUIRE_THROWS_WITH(cut.count(), Catch::Contains("local checkpoint") && Catch::Contains("lost") &&
                                       Catch::Contains("checkpoint()"));
  // The executors left are fine: other jobs run.
  CHECK(ctx.parallelize(squares(100), 4).count() == 100);
}

TEST_CASE("a lineage 30,000 operators deep runs when cut every few hundred") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir dir;
  ctx.set_checkpoint_dir(dir.str());
  for (bool local : {false, true}) {
    CAPTURE(local);
    auto ds = ctx.parallelize(std::vector<long>{1, 2, 3, 4, 5, 6}, 3).cache();
    for (int i = 1; i <= 30000; ++i) {
      ds = ds.map([](long x) { return x + 1; }).cache();
      if (i % 500 == 0) ds = local ? ds.local_checkpoint() : ds.checkpoint();
    }
    CHECK(ds.collect() == std::vector<long>{30001, 30002, 30003, 30004, 30005, 30006});
  }
}

TEST_CASE("a damaged or missing checkpoint file is an error naming the file") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 1);
  TempDir dir;
  ctx.set_checkpoint_dir(dir.str());
  auto cut = ctx.parallelize(squares(5000), 2).checkpoint();
  fs::path part;
  for (const auto& f : files_under(dir.str()))
    if (f.filename() == "part-00001") part = f;
  REQUIRE(!part.empty());
  SECTION("damaged") {
    std::fstream f(part, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    char c = 0;
    f.read(&c, 1);
    f.seekp(40);
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
    f.close();
    REQUIRE_THROWS_WITH(cut.count(), Catch::Contains(part.string()) && Catch::Contains("damaged"));
  }
  SECTION("missing") {
    fs::remove(part);
    REQUIRE_THROWS_WITH(cut.count(), Catch::Contains(part.string()) && Catch::Contains("shared"));
  }
}
