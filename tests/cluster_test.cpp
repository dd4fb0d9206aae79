// A spate:// driver with executors that join it over TCP: real processes of this test binary,
// and peers that must be refused (wrong secret, another build, garbage on the port).
#include <arpa/inet.h>
#include <fcntl.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using spate_test::sorted;

namespace {

// A port nobody listens on right now (the kernel's pick for a socket closed again at once).
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A child process with its own environment additions and its stderr in a file.
struct Child {
  pid_t pid = -1;
  fs::path err;

  Child(std::vector<std::string> args, std::map<std::string, std::string> env_set, fs::path err_file)
      : err(std::move(err_file)) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      if (!kv.starts_with("SPATE_")) env.emplace_back(kv);
    }
    for (auto& [k, v] : env_set) env.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) == 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // The exit code once the process ended within `limit`, or -1.
  int wait_exit(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
  std::string stderr_text() const {
    std::ifstream f(err);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
};

std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

// Sets an environment variable for the scope of a test.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& v) : name(std::move(n)) { ::setenv(name.c_str(), v.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

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

TEST_CASE("executors that join a spate:// driver run its jobs; wrong secret, other build and garbage are refused",
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
  Child other_build({std::string(SPATE_BIN_DIR) + "/spate-wordcount", "--executor", url},
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
  std::vector<pid_t> children;
  {
    spate::Context ctx(spate::Options{.master = "local-cluster[2]"});
    REQUIRE(sum_by_key(ctx) == expected_sums());
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::ifstream stat(entry.path() / "stat");
      std::string pid, comm, state;
      pid_t ppid = 0;
      if (stat >> pid >> comm >> state >> ppid && ppid == ::getpid())
        children.push_back(std::stoi(pid));
    }
  }
  CHECK(children.size() >= 2);
  for (pid_t c : children) CHECK(::kill(c, 0) != 0);  // reaped: no such process any more
}
