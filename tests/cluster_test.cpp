// A spate:// driver with executors that join it over TCP: real processes of this test binary,
// and peers that must be refused (wrong secret, another build, garbage on the port).
#include <map>
#include <string>
#include <vector>

#include "cluster/fingerprint.hpp"
#include "net/connection.hpp"
#include "net/net_error.hpp"
#include "process_support.hpp"
#include "test_support.hpp"
#include "test_paths.hpp"

using namespace spate_test;

namespace {

std::vector<std::pair<int, long>> sum_by_key(spate::Context& ctx) {
  std::vector<std::pair<int, long>> in;
  for (int i = 0; i < 2000; ++i) in.emplace_back(i % 7, i);
  return sorted(ctx.parallelize(in, 6).reduce_by_key(std::plus<>{}).collect());
}

std::vector<std::pair<int, long>> expected_sums() {
  std::map<int, long> m;
  for (int i = 0; i < 2000; ++i) m[i % 7] += i;
  return {m.begin(), m.end()};
}

}  // namespace

TEST_CASE("executors that join a spate:// driver run its jobs, and a wrong secret, another build and garbage are refused",
          "[cluster]") {
  fs::path dir = fs::temp_directory_path() / ("spate-cluster-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::uint16_t port = free_port();
  std::string url = "spate://127.0.0.1:" + std::to_string(port);
  ScopedEnv secret("SPATE_SECRET", "the-right-secret");

  Child good({self_exe(), "--executor", url, "--executor-cores", "2"},
             {{"SPATE_SECRET", "the-right-secret"}}, dir / "good.err");
  Child wrong_secret({self_exe(), "--executor", url}, {{"SPATE_SECRET", "a-wrong-secret"}},
                     dir / "wrong.err");
  Child other_build({spate_test::bin_dir() + "/spate-wordcount", "--executor", url},
                    {{"SPATE_SECRET", "the-right-secret"}}, dir / "other.err");
  {
    spate::Context ctx(spate::Options{.master = url, .min_executors = 1});
    REQUIRE(sum_by_key(ctx) == expected_sums());

    // Garbage on the driver's port: the connection is dropped, the driver goes on.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    std::string junk(1024, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
    CHECK(::write(fd, junk.data(), junk.size()) > 0);
    ::close(fd);

    CHECK(wrong_secret.wait_exit(90s) > 0);
    CHECK(other_build.wait_exit(90s) > 0);
    CHECK_THAT(other_build.stderr_text(), Catch::Contains("different build"));
    CHECK_THAT(other_build.stderr_text(), Catch::Contains("spate-wordcount"));
    CHECK_THAT(wrong_secret.stderr_text(), Catch::Contains("secret"));

    // Still serving: another job after the refusals.
    REQUIRE(sum_by_key(ctx) == expected_sums());
  }
  // The driver is gone; its executor ends by itself.
  CHECK(good.wait_exit(30s) == 0);
  fs::remove_all(dir);
}

TEST_CASE("a spate:// driver with no executor fails after the wait, saying how to start one",
          "[cluster]") {
  std::string url = "spate://127.0.0.1:" + std::to_string(free_port());
  try {
    spate::Context ctx(spate::Options{.master = url, .executor_wait = 1s});
    FAIL("the Context was created without any executor");
  } catch (const spate::error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("--executor " + url));
  }
}

TEST_CASE("a local-cluster driver leaves no executor process behind", "[cluster]") {
  std::set<pid_t> children;
  {
    spate::Context ctx(spate::Options{.master = "local-cluster[2]"});
    REQUIRE(sum_by_key(ctx) == expected_sums());
    children = children_of_this_process();
  }
  CHECK(children.size() >= 2);
  for (pid_t c : children) CHECK(::kill(c, 0) != 0);  // reaped: no such process any more
}

TEST_CASE("local-cluster executors get the secret in a descriptor, never in their environment or command line",
          "[cluster]") {
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .ui = false});
  CHECK(sum_by_key(ctx) == expected_sums());  // they authenticated with it
  auto executors = ctx.engine()->executors();
  REQUIRE(executors.size() == 2);
  for (const auto& e : executors) {
    INFO(e.id);
    std::string environ_text = read_file("/proc/" + std::to_string(e.pid) + "/environ");
    std::string cmdline = read_file("/proc/" + std::to_string(e.pid) + "/cmdline");
    CHECK(!environ_text.empty());
    CHECK(environ_text.find("SPATE_SECRET=") == std::string::npos);
    CHECK(environ_text.find("SPATE_SECRET_FD=") != std::string::npos);
    CHECK(cmdline.find("SECRET") == std::string::npos);
    // The executor closed the descriptor once it read the secret: nothing it starts inherits it.
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(e.pid) + "/fd")) {
      std::error_code ec;
      CHECK(fs::read_symlink(fd.path(), ec).string().find("spate-secret") == std::string::npos);
    }
  }
}

TEST_CASE("the executable fingerprint is the linker's build id of this binary", "[cluster]") {
  const std::string& fp = spate::detail::executable_fingerprint();
  REQUIRE(fp.starts_with("build-id:"));
  fs::path out = fs::temp_directory_path() / ("spate-readelf-" + std::to_string(::getpid()));
  std::string cmd = "readelf -n " + self_exe() + " > " + out.string() + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    WARN("readelf is not available; checked the format only");
    fs::remove(out);
    return;
  }
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("Build ID: " + fp.substr(9)));
  fs::remove(out);
}

TEST_CASE("a peer that sends out-of-order frames is closed alone, and the driver keeps its executors",
          "[cluster]") {
  namespace net = spate::detail::net;
  fs::path dir = fs::temp_directory_path() / ("spate-cluster-ooo-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::uint16_t port = free_port();
  std::string url = "spate://127.0.0.1:" + std::to_string(port);
  ScopedEnv secret("SPATE_SECRET", "s3cret");
  Child good({self_exe(), "--executor", url}, {{"SPATE_SECRET", "s3cret"}}, dir / "good.err");
  {
    spate::Context ctx(spate::Options{.master = url, .min_executors = 1, .ui = false});
    REQUIRE(sum_by_key(ctx) == expected_sums());
    // Authenticated peers (they hold the secret) that break the protocol: each is cut off with
    // its reason, alone.
    auto expect_closed = [&](net::FrameType type, const std::string& payload) {
      auto c = net::Connection::connect("127.0.0.1", port, "s3cret", net::PeerRole::executor, 5s);
      c->send(type, payload);
      CHECK_THROWS_AS(c->receive(5s), net::connection_closed);
    };
    spate::Writer result;
    spate::serialize_to(result, std::uint64_t{1});  // a task id: this peer was sent no task
    expect_closed(net::FrameType::task_result, std::move(result).take());  // before registering
    expect_closed(net::FrameType::launch_task, "");                        // a driver's frame
    expect_closed(net::FrameType::fetch_block, "");                        // an executor's frame
    // The same at an executor's block server: a reader may only ask for blocks.
    std::string blocks = ctx.engine()->executors().front().block_address;
    auto block_port = static_cast<std::uint16_t>(std::stoi(blocks.substr(blocks.rfind(':') + 1)));
    auto reader = net::Connection::connect("127.0.0.1", block_port, "s3cret", net::PeerRole::fetcher, 5s);
    reader->send(net::FrameType::task_result, "");
    CHECK_THROWS_AS(reader->receive(5s), net::connection_closed);

    CHECK(ctx.engine()->executors().size() == 1);
    CHECK(ctx.engine()->executors().front().alive);
    REQUIRE(sum_by_key(ctx) == expected_sums());
  }
  CHECK(good.wait_exit(30s) == 0);
  fs::remove_all(dir);
}
