// Heartbeats both ways: a driver takes an executor that has gone silent (stopped with SIGSTOP,
// its connection still open) for lost, and an executor leaves a driver that has gone silent.
#include <csignal>
#include <string>
#include <vector>

#include "cluster/protocol.hpp"
#include "net/connection.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

using namespace spate_test;

TEST_CASE("a driver drops an executor that stops answering and runs its jobs on the others",
          "[cluster]") {
  auto before = children_of_this_process();
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .heartbeat_timeout = 1s});
  std::vector<pid_t> mine;
  for (pid_t p : children_of_this_process())
    if (!before.count(p)) mine.push_back(p);
  REQUIRE(mine.size() == 2);
  REQUIRE(ctx.default_parallelism() == 2);

  REQUIRE(::kill(mine[0], SIGSTOP) == 0);  // alive, connected, and silent
  // Watch that executor itself: local-cluster starts a replacement at once, so the slot count
  // may be back to 2 before a poll sees it drop.
  auto stopped_is_lost = [&] {
    for (const auto& e : ctx.engine()->executors())
      if (e.pid == static_cast<std::uint64_t>(mine[0])) return !e.alive;
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!stopped_is_lost() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  CHECK(stopped_is_lost());

  std::vector<int> v(1000);
  for (int i = 0; i < 1000; ++i) v[i] = i;
  CHECK(ctx.parallelize(v, 4).map([](int x) { return 2L * x; }).reduce(std::plus<>{}) == 999000L);
  ::kill(mine[0], SIGKILL);
}

TEST_CASE("an executor whose driver goes silent ends by itself after the heartbeat timeout",
          "[cluster]") {
  namespace net = spate::detail::net;
  namespace protocol = spate::detail::protocol;
  // A driver that welcomes the executor with a 0.5 s timeout and then never says a word.
  net::ServerOptions so;
  so.secret = "silent-driver-secret";
  net::ServerHandlers h;
  h.on_frame = [](const std::shared_ptr<net::Connection>& c, net::Frame&& f) {
    if (f.type == net::FrameType::register_executor)
      c->send(net::FrameType::executor_registered, protocol::encode(protocol::Welcome{100, 500}));
  };
  net::Server driver(so, h);
  fs::path err = fs::temp_directory_path() / ("spate-silent-" + std::to_string(::getpid()) + ".err");
  Child executor({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(driver.port())},
                 {{"SPATE_SECRET", "silent-driver-secret"}}, err);
  CHECK(executor.wait_exit(20s) == 0);
  CHECK_THAT(executor.stderr_text(), Catch::Contains("no word from the driver"));
  fs::remove(err);
}
