// Lineage-based recovery with real executor processes killed with SIGKILL: in the middle of a map
// stage, after it but before its outputs are fetched, while executors hold cached partitions,
// and during save_as_text_file. Each time the result equals the fault-free one, and the map
// partitions computed again are exactly those whose output the dead executor held.
#include <signal.h>
#include <sys/resource.h>

#include <csignal>
#include <numeric>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "process_support.hpp"
#include "test_support.hpp"

using namespace spate_test;
using Outcome = spate::detail::TaskAttempt::Outcome;

namespace {

// Sums per key: a merge policy for an accumulator that counts per partition.
struct PerKey {
  void operator()(std::map<std::size_t, long>& acc, const std::map<std::size_t, long>& x) const {
    for (const auto& [k, v] : x) acc[k] += v;
  }
  void operator()(std::map<std::size_t, long>& acc, std::size_t k) const { acc[k] += 1; }
};

std::vector<std::pair<int, long>> input_pairs() {
  std::vector<std::pair<int, long>> v;
  for (int i = 0; i < 6000; ++i) v.emplace_back(i % 37, i);
  return v;
}

std::vector<std::pair<int, long>> expected_sums() {
  std::map<int, long> m;
  for (const auto& [k, x] : input_pairs()) m[k] += x;
  return {m.begin(), m.end()};
}

// The executor that held the most of `parts` (executor -> partitions), and its partitions.
std::pair<std::string, std::set<std::size_t>> busiest(const std::map<std::string, std::set<std::size_t>>& parts) {
  std::pair<std::string, std::set<std::size_t>> best;
  for (const auto& [e, ps] : parts)
    if (ps.size() > best.second.size()) best = {e, ps};
  return best;
}

// Successful attempts of map tasks of any shuffle (or of result tasks, shuffle -1), by executor.
std::map<std::string, std::set<std::size_t>> succeeded_by_executor(const spate::Context& ctx, bool map_tasks) {
  std::map<std::string, std::set<std::size_t>> out;
  for (const auto& a : ctx.engine()->task_attempts())
    if (a.outcome == Outcome::succeeded && (a.shuffle >= 0) == map_tasks) out[a.executor].insert(a.partition);
  return out;
}

// Map partitions that succeeded more than once: those computed again.
std::set<std::size_t> recomputed_maps(const spate::Context& ctx) {
  std::map<std::size_t, int> n;
  for (const auto& a : ctx.engine()->task_attempts())
    if (a.outcome == Outcome::succeeded && a.shuffle >= 0) ++n[a.partition];
  std::set<std::size_t> out;
  for (const auto& [p, k] : n)
    if (k > 1) out.insert(p);
  return out;
}

void kill_executor(const spate::Context& ctx, const std::string& id) {
  for (const auto& e : ctx.engine()->executors())
    if (e.id == id) {
      REQUIRE(e.pid > 0);
      REQUIRE(::kill(static_cast<pid_t>(e.pid), SIGKILL) == 0);
      return;
    }
  FAIL("no executor " << id);
}

// Waits until the driver has noticed that executor `id` is gone.
void wait_until_lost(const spate::Context& ctx, const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : ctx.engine()->executors())
      if (e.id == id && !e.alive) return;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("the driver did not notice that " << id << " died");
}

// Waits until `n` tasks of the kind asked for have succeeded.
void wait_for_successes(const spate::Context& ctx, bool map_tasks, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t k = 0;
    for (const auto& [e, ps] : succeeded_by_executor(ctx, map_tasks)) k += ps.size();
    if (k >= n) return;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("fewer than " << n << " tasks succeeded within 60 s");
}

}  // namespace

TEST_CASE("killing an executor after a map stage recomputes exactly the map outputs it held",
          "[recovery]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[3]"});
  auto sums = ctx.parallelize(input_pairs(), 12).reduce_by_key(std::plus<>{}, 4);
  REQUIRE(sums.count() == 37);  // the map stage ran; its outputs stay for the next job
  CHECK(recomputed_maps(ctx).empty());
  auto [victim, held] = busiest(succeeded_by_executor(ctx, true));
  REQUIRE_FALSE(held.empty());
  kill_executor(ctx, victim);
  wait_until_lost(ctx, victim);
  CHECK(sorted(sums.collect()) == expected_sums());
  CHECK(recomputed_maps(ctx) == held);
}

TEST_CASE("killing an executor in the middle of a map stage recomputes exactly its outputs",
          "[recovery]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[3]"});
  auto slow = ctx.parallelize(input_pairs(), 24).map_partitions([](std::size_t, std::vector<std::pair<int, long>> v) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    return v;
  });
  auto job = std::async(std::launch::async, [&] { return sorted(slow.reduce_by_key(std::plus<>{}, 4).collect()); });
  wait_for_successes(ctx, true, 6);
  auto victim = busiest(succeeded_by_executor(ctx, true)).first;
  kill_executor(ctx, victim);
  CHECK(job.get() == expected_sums());
  // Every output the victim had finished is computed again, and nothing else is.
  auto by_executor = succeeded_by_executor(ctx, true);
  CHECK(recomputed_maps(ctx) == by_executor[victim]);
  CHECK_FALSE(by_executor[victim].empty());
}

TEST_CASE("killing an executor that holds cached partitions recomputes only those partitions",
          "[recovery]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[3]"});
  auto computed = ctx.accumulator<std::map<std::size_t, long>, PerKey>();
  auto cached = ctx.parallelize(input_pairs(), 9)
                    .map_partitions([computed](std::size_t p, std::vector<std::pair<int, long>> v) {
                      computed.add(p);
                      return v;
                    })
                    .cache();
  REQUIRE(cached.count() == 6000);
  auto [victim, held] = busiest(succeeded_by_executor(ctx, false));
  REQUIRE_FALSE(held.empty());
  kill_executor(ctx, victim);
  wait_until_lost(ctx, victim);
  CHECK(sorted(cached.reduce_by_key(std::plus<>{}).collect()) == expected_sums());
  std::set<std::size_t> twice;
  for (const auto& [p, n] : computed.value()) {
    CHECK(n <= 2);
    if (n == 2) twice.insert(p);
  }
  CHECK(twice == held);
}

TEST_CASE("killing an executor during save_as_text_file still writes each part once, complete",
          "[recovery]") {
  fs::path dir = fs::temp_directory_path() / ("spate-recovery-save-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  spate::Context ctx(spate::Options{.master = "local-cluster[3]"});
  std::vector<int> lines(1200);
  for (int i = 0; i < 1200; ++i) lines[i] = i;
  auto text = ctx.parallelize(lines, 12).map_partitions([](std::size_t, std::vector<int> v) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    std::vector<std::string> out;
    for (int x : v) out.push_back("line " + std::to_string(x));
    return out;
  });
  auto job = std::async(std::launch::async, [&] { text.save_as_text_file(dir.string()); });
  wait_for_successes(ctx, false, 3);
  kill_executor(ctx, busiest(succeeded_by_executor(ctx, false)).first);
  job.get();
  CHECK(fs::exists(dir / "_SUCCESS"));
  std::vector<std::string> parts;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("part-")) parts.push_back(e.path().string());
  std::sort(parts.begin(), parts.end());
  CHECK(parts.size() == 12);
  std::vector<std::string> got;
  for (const auto& p : parts) {
    std::ifstream in(p);
    for (std::string l; std::getline(in, l);) got.push_back(l);
  }
  std::vector<std::string> want;
  for (int x : lines) want.push_back("line " + std::to_string(x));
  CHECK(got == want);
  fs::remove_all(dir);
}

TEST_CASE("in executors, a function that always throws fails the job with its message, and one that throws once succeeds",
          "[recovery]") {
  auto ctx = make_context("local-cluster[3]", 3);
  auto bad = ctx.parallelize(std::vector<int>{1, 2, 3, 4, 5, 6}, 3).map([](int x) {
    if (x == 4) throw std::runtime_error("record 4 is bad");
    return x;
  });
  try {
    bad.collect();
    FAIL("no error");
  } catch (const spate::job_error& e) {
    CHECK(e.user_message() == "record 4 is bad");
    CHECK(e.attempt() == 3);
    CHECK(e.partition() == 1);
  }
  auto flaky = ctx.parallelize(std::vector<int>{1, 2, 3, 4, 5, 6}, 3).map([](int x) {
    if (x == 4 && spate::this_task()->attempt == 1) throw std::runtime_error("first attempt");
    return x * 10;
  });
  CHECK(flaky.collect() == std::vector<int>{10, 20, 30, 40, 50, 60});
}

TEST_CASE("a spate:// job goes on with the executors that remain and with one that joins mid-job",
          "[recovery]") {
  fs::path dir = fs::temp_directory_path() / ("spate-recovery-join-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string url = "spate://127.0.0.1:" + std::to_string(free_port());
  std::map<std::string, std::string> env{{"SPATE_SECRET", "recovery-secret"}};
  setenv("SPATE_SECRET", "recovery-secret", 1);
  auto first = std::make_unique<Child>(std::vector<std::string>{self_exe(), "--executor", url, "--executor-id", "first"}, env,
                                       dir / "first.err");
  Child second({self_exe(), "--executor", url, "--executor-id", "second"}, env, dir / "second.err");
  {
    spate::Context ctx(spate::Options{.master = url, .min_executors = 2});
    auto slow = ctx.parallelize(input_pairs(), 32).map_partitions([](std::size_t, std::vector<std::pair<int, long>> v) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return v;
    });
    auto job = std::async(std::launch::async, [&] { return sorted(slow.reduce_by_key(std::plus<>{}, 4).collect()); });
    wait_for_successes(ctx, true, 3);
    first.reset();  // SIGKILL
    Child third({self_exe(), "--executor", url, "--executor-id", "third"}, env, dir / "third.err");
    CHECK(job.get() == expected_sums());
    std::set<std::string> ran;
    for (const auto& a : ctx.engine()->task_attempts())
      if (a.outcome == Outcome::succeeded) ran.insert(a.executor);
    CHECK(ran.count("second") == 1);
    CHECK(ran.count("third") == 1);  // joined while the job ran, and took tasks
  }
  unsetenv("SPATE_SECRET");
  fs::remove_all(dir);
}

TEST_CASE("local-cluster replaces a killed executor with one that stays", "[recovery]") {
  // Built on a thread that ends at once: executors must not die with the thread that made them.
  std::optional<spate::Context> ctx;
  std::thread([&] { ctx.emplace(spate::Options{.master = "local-cluster[2]"}); }).join();
  auto alive = [&] {
    int n = 0;
    for (const auto& e : ctx->engine()->executors()) n += e.alive;
    return n;
  };
  std::this_thread::sleep_for(300ms);
  REQUIRE(alive() == 2);
  kill_executor(*ctx, ctx->engine()->executors().front().id);
  wait_until_lost(*ctx, ctx->engine()->executors().front().id);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (alive() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(alive() == 2);
  std::this_thread::sleep_for(500ms);  // the replacement must not die with any short-lived thread
  CHECK(alive() == 2);
  CHECK(ctx->engine()->executors().size() == 3);
  CHECK(sorted(ctx->parallelize(input_pairs(), 6).reduce_by_key(std::plus<>{}).collect()) == expected_sums());
}

TEST_CASE("local-cluster replaces an executor killed before it registered", "[recovery]") {
  auto before = children_of_this_process();
  auto made = std::async(std::launch::async, [] { return spate::Context(spate::Options{.master = "local-cluster[2]"}); });
  pid_t victim = -1;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (victim < 0 && std::chrono::steady_clock::now() < deadline) {
    for (pid_t p : children_of_this_process())
      if (!before.count(p)) victim = p;
    if (victim < 0) std::this_thread::yield();
  }
  REQUIRE(victim > 0);
  ::kill(victim, SIGKILL);  // most likely before it has even connected
  REQUIRE(made.wait_for(30s) == std::future_status::ready);
  auto ctx = made.get();
  int alive = 0;
  for (const auto& e : ctx.engine()->executors()) alive += e.alive;
  CHECK(alive == 2);
  CHECK(sorted(ctx.parallelize(input_pairs(), 6).reduce_by_key(std::plus<>{}).collect()) == expected_sums());
}

TEST_CASE("with no executor restarts, a local-cluster job goes on with the executors that remain",
          "[recovery]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .executor_restarts = 0});
  auto sums = ctx.parallelize(input_pairs(), 8).reduce_by_key(std::plus<>{}, 4);
  REQUIRE(sums.count() == 37);
  auto victim = ctx.engine()->executors().front().id;
  kill_executor(ctx, victim);
  wait_until_lost(ctx, victim);
  CHECK(sorted(sums.collect()) == expected_sums());
  std::this_thread::sleep_for(1500ms);  // a replacement, were one started, would have joined
  CHECK(ctx.engine()->executors().size() == 2);
  CHECK(ctx.default_parallelism() == 1);
}

namespace {

// User functions that end their process by a real signal on record 7, with no core file left
// behind. SIGSEGV as a dereferenced dangling capture does, only deterministically: its default
// action, whatever handler a sanitizer installed. SIGABRT through abort(), past the handler
// with which an executor logs the task it dies in.
int segv_on_seven(int x) {
  if (x == 7) {
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    std::signal(SIGSEGV, SIG_DFL);
    std::raise(SIGSEGV);
  }
  return x;
}
int abort_on_seven(int x) {
  if (x == 7) {
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    std::abort();
  }
  return x;
}

}  // namespace

TEST_CASE("an executor killed by a crash signal fails the job naming the signal, the stage and captures",
          "[recovery]") {
  auto [crash, signal_name] = GENERATE(table<int (*)(int), std::string>(
      {{segv_on_seven, "SIGSEGV"}, {abort_on_seven, "SIGABRT"}}));
  auto before = children_of_this_process();
  std::set<pid_t> started;
  {
    spate::Context ctx(spate::Options{.master = "local-cluster[2]", .task_attempts = 2, .progress = false, .ui = false});
    std::vector<int> v(20);
    std::iota(v.begin(), v.end(), 0);
    try {
      ctx.parallelize(v, 4).map(crash).filter([](int x) { return x >= 0; }).count();
      FAIL("the job did not fail");
    } catch (const spate::job_error& e) {
      std::string what = e.what();
      INFO(what);
      CHECK_THAT(what, Catch::Contains("died of " + signal_name));
      CHECK_THAT(what, Catch::Contains("stage 0 (map.filter <- parallelize) partition 1 failed 2 times"));
      CHECK_THAT(what, Catch::Contains("functions passed to operators run in executor processes: capture "
                                       "values, not references or pointers"));
      CHECK(e.partition() == 1);
      CHECK(e.attempt() == 2);
    }
    // The crashes count as the task's failures, not as executor losses the job waits out.
    int crashed = 0;
    for (const auto& a : ctx.engine()->task_attempts())
      if (a.outcome == Outcome::failed) ++crashed;
    CHECK(crashed == 2);
    for (pid_t p : children_of_this_process())
      if (!before.count(p)) started.insert(p);
    // The context runs jobs on the executors started in place of the crashed ones.
    CHECK(ctx.parallelize(v, 4).count() == 20);
  }
  for (pid_t p : started) CHECK(::kill(p, 0) != 0);  // every executor ended with the context
}

TEST_CASE("an executor killed from outside is logged as lost by SIGKILL and the job goes on", "[recovery]") {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("spate-sigkill-{}", ::getpid());
  std::filesystem::remove_all(dir);
  std::string log;
  {
    spate::Context ctx(spate::Options{.master = "local-cluster[2]", .event_log_dir = dir.string(), .progress = false,
                                      .ui = false});
    log = ctx.event_log_path();
    auto sums = ctx.parallelize(input_pairs(), 8).reduce_by_key(std::plus<>{}, 4);
    REQUIRE(sums.count() == 37);
    auto victim = ctx.engine()->executors().front().id;
    kill_executor(ctx, victim);
    wait_until_lost(ctx, victim);
    CHECK(sorted(sums.collect()) == expected_sums());
  }
  std::ifstream in(log);
  std::string line, lost;
  while (std::getline(in, line))
    if (line.find("\"executor_lost\"") != std::string::npos) lost = line;
  std::filesystem::remove_all(dir);
  INFO(lost);
  CHECK_THAT(lost, Catch::Contains("died of SIGKILL"));
}
