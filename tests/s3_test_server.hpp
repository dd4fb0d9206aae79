// A real S3-compatible server for the tests: s3rver (npm, pinned in tests/s3/package-lock.json
// and installed by `scripts/setup --test`), started on a free loopback port with a fresh data
// directory and stopped by its pid; and the fault proxy (spate-s3-fault-proxy) in front of it.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <spawn.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "process_support.hpp"
#include "s3/s3_client.hpp"
#include "test_paths.hpp"

namespace spate_test {

/// s3rver's script in the repository's tests/s3, installed by scripts/setup --test.
inline fs::path s3rver_script() {
  return fs::path(source_dir()) / "tests/s3/node_modules/s3rver/bin/s3rver.js";
}

/// True when node and s3rver are installed; a test without them says so and passes.
inline bool s3rver_available() {
  return fs::exists(s3rver_script()) && run_captured("command -v node").exit_code == 0;
}

/// Skips the rest of a test, saying why, when s3rver is not installed.
#define SPATE_REQUIRE_S3RVER()                                                                  \
  if (!spate_test::s3rver_available()) {                                                        \
    WARN("skipped: s3rver is not installed; run scripts/setup --test (npm ci in tests/s3)");    \
    return;                                                                                     \
  }

/// Waits until something accepts connections on the loopback port; false after limit.
inline bool wait_for_port(std::uint16_t port, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

/// Stops a child by its pid: SIGTERM, then SIGKILL if it lingers.
inline void stop_child(Child& child) {
  if (child.pid <= 0) return;
  ::kill(child.pid, SIGTERM);
  if (child.wait_exit(5s) == -1) {
    ::kill(child.pid, SIGKILL);
    child.wait_exit(5s);
  }
}

/// The certificate and key an https s3rver serves (PEM files).
struct TlsFiles {
  fs::path cert;
  fs::path key;
};

/// An s3rver process holding the given (empty) buckets, with s3rver's fixed credentials; over
/// https when given TLS files.
class S3TestServer {
 public:
  explicit S3TestServer(const std::vector<std::string>& buckets, std::optional<TlsFiles> tls = {})
      : tls_(tls.has_value()) {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           ("spate-s3rver-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    port_ = free_port();
    // s3rver ciphers its ListObjectsV2 continuation tokens with DES, which Node 17+ (OpenSSL 3)
    // offers only through the legacy provider; without it every truncated listing is a 500.
    std::vector<std::string> args{"/usr/bin/env", "node", "--openssl-legacy-provider",
                                  s3rver_script().string(), "-d",
                                  (dir_ / "data").string(), "-a", "127.0.0.1", "-p",
                                  std::to_string(port_), "--silent"};
    for (const auto& b : buckets) {
      args.push_back("--configure-bucket");
      args.push_back(b);
    }
    if (tls) {
      for (const std::string& a : {std::string("--cert"), tls->cert.string(), std::string("--key"), tls->key.string()})
        args.push_back(a);
    }
    child_ = std::make_unique<Child>(args, std::map<std::string, std::string>{}, dir_ / "s3rver.err");
    REQUIRE(wait_for_port(port_, 30s));
  }
  ~S3TestServer() {
    stop_child(*child_);
    fs::remove_all(dir_);
  }
  S3TestServer(const S3TestServer&) = delete;
  S3TestServer& operator=(const S3TestServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string endpoint() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }

 private:
  bool tls_;
  fs::path dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Child> child_;
};

/// spate-s3-fault-proxy in front of a server, in one of its modes (see s3_fault_proxy.cpp);
/// started by posix_spawn, its port read from its stdout, stopped by its pid.
class S3FaultProxy {
 public:
  S3FaultProxy(const S3TestServer& server, const std::string& mode) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::vector<std::string> args{bin_dir() + "/spate-s3-fault-proxy", "--upstream-port",
                                  std::to_string(server.port()), "--mode", mode};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(fds[0]);
    REQUIRE(!line.empty());
    port_ = static_cast<std::uint16_t>(std::stoi(line));
  }
  ~S3FaultProxy() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  S3FaultProxy(const S3FaultProxy&) = delete;
  S3FaultProxy& operator=(const S3FaultProxy&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// The AWS_* variables that point spate at an endpoint with s3rver's credentials, for a scope;
/// executors started afterwards inherit them.
struct S3TestEnv {
  explicit S3TestEnv(const std::string& endpoint, const std::string& key_id = "S3RVER")
      : id("AWS_ACCESS_KEY_ID", key_id),
        key("AWS_SECRET_ACCESS_KEY", "S3RVER"),
        region("AWS_REGION", "us-east-1"),
        url("AWS_ENDPOINT_URL", endpoint) {
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_PROFILE");
  }
  ScopedEnv id, key, region, url;
};

/// The whole body of an existing object (the test fails when it is missing).
inline std::string get_object(spate::detail::S3Client& client, const std::string& bucket, const std::string& key) {
  auto head = client.head(bucket, key);
  REQUIRE(head);
  client.start_get(bucket, key, 0, head->size, head->etag);
  std::string out, buf(1 << 16, '\0');
  for (std::size_t n; (n = client.read_body(buf.data(), buf.size())) > 0;) out.append(buf.data(), n);
  return out;
}

}  // namespace spate_test
