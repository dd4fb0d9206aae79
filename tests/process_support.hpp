// Helpers for tests that run processes of their own: executors of this test binary started by
// hand, a free port, the children of this process, environment variables for a scope.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

extern char** environ;

namespace spate_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A port nobody listens on right now (the kernel's pick for a socket closed again at once).
inline std::uint16_t free_port() {
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

inline std::string self_exe() { return fs::read_symlink("/proc/self/exe").string(); }

// How a shell command ended and what it printed.
struct CommandRun {
  int exit_code;  // -1 when it did not exit normally
  std::string out, err;
};

// Runs `command` with sh, its stdin from /dev/null and its stdout and stderr captured.
inline CommandRun run_captured(const std::string& command) {
  static std::atomic<int> counter{0};
  fs::path base = fs::temp_directory_path() /
                  ("spate-run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::path out = base.string() + ".out", err = base.string() + ".err";
  std::string cmd = command + " > '" + out.string() + "' 2> '" + err.string() + "' < /dev/null";
  int status = std::system(cmd.c_str());
  auto slurp = [](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  CommandRun r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  fs::remove(out);
  fs::remove(err);
  return r;
}

// Sets an environment variable for the scope of a test, then puts back what was there.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& v) : name(std::move(n)) {
    if (const char* before = std::getenv(name.c_str())) old = before;
    ::setenv(name.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old) {
      ::setenv(name.c_str(), old->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
};

/// The pids of `parent`'s children now (whichever thread of it started them).
inline std::set<pid_t> children_of(pid_t parent) {
  std::set<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (stat >> pid >> comm >> state >> ppid && ppid == parent) out.insert(std::stoi(pid));
  }
  return out;
}

/// The pids of this process's children now.
inline std::set<pid_t> children_of_this_process() { return children_of(::getpid()); }

}  // namespace spate_test
