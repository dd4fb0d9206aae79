// The driver side of the multi-host network-cut test (tests/multihost/run.sh runs it inside a
// network namespace, with executors in three others, and takes one executor's link down while
// the job runs: no process dies, no connection closes). Hidden from the default run: it needs
// that setup, named by SPATE_NETCUT_MASTER.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

using namespace spate_test;

TEST_CASE("a job survives an executor cut off the network, found by missed heartbeats", "[.netcut]") {
  const char* master = std::getenv("SPATE_NETCUT_MASTER");
  if (master == nullptr) FAIL("SPATE_NETCUT_MASTER is not set; run tests/multihost/run.sh");
  spate::Context ctx(spate::Options{.master = master, .min_executors = 3, .heartbeat_timeout = std::chrono::seconds(2)});
  std::vector<std::pair<int, long>> in;
  for (int i = 0; i < 40000; ++i) in.emplace_back(i % 101, i);
  std::map<int, long> want;
  for (const auto& [k, v] : in) want[k] += v;

  auto slow = ctx.parallelize(in, 48).map_partitions([](std::size_t, std::vector<std::pair<int, long>> v) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    return v;
  });
  std::printf("netcut: job running\n");
  std::fflush(stdout);
  auto got = slow.reduce_by_key(std::plus<>{}, 6).collect();
  CHECK(std::map<int, long>(got.begin(), got.end()) == want);

  int lost = 0;
  for (const auto& e : ctx.engine()->executors()) lost += !e.alive;
  CHECK(lost == 1);
  int reruns = 0;
  std::map<std::size_t, int> map_successes;
  for (const auto& a : ctx.engine()->task_attempts()) {
    reruns += a.outcome != spate::detail::TaskAttempt::Outcome::succeeded;
    if (a.outcome == spate::detail::TaskAttempt::Outcome::succeeded && a.shuffle >= 0) ++map_successes[a.partition];
  }
  int recomputed = 0;
  for (const auto& [p, n] : map_successes) recomputed += n > 1;
  std::printf("netcut: %d executor lost, %d task attempts lost or failed, %d map partitions recomputed, "
              "result correct\n",
              lost, reruns, recomputed);
}
