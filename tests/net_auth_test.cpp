// Tests of authentication (lib/net/auth.hpp): the proofs, the handshake payloads, the secret
// loader, and the handshake over real loopback TCP, including peers that lie or replay.
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/auth.hpp"
#include "net/connection.hpp"
#include "net/frame.hpp"
#include "net/net_error.hpp"
#include "net_test_peer.hpp"
#include "spate/error.hpp"

namespace {

namespace net = spate::detail::net;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::FrameType;
using namespace std::chrono_literals;
using net_test::FakeServer;
using net_test::RawPeer;

constexpr auto kGenerous = 5s;  // every wait in these tests; none should come close



/// Collects a server's log lines and lets a test wait for one.
class LogSink {
 public:
  std::function<void(const std::string&)> handler() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      lines_.push_back(line);
      cv_.notify_all();
    };
  }
  /// True once a line containing `text` has been logged (waits up to kGenerous).
  bool saw(const std::string& text) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kGenerous, [&] {
      for (const auto& l : lines_) {
        if (l.find(text) != std::string::npos) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

/// A server that echoes every frame back and logs into `log`.
std::unique_ptr<net::Server> start_echo_server(const std::string& secret, LogSink& log,
                                               std::chrono::milliseconds handshake = 5s) {
  net::ServerOptions options;
  options.secret = secret;
  options.handshake_timeout = handshake;
  net::ServerHandlers handlers;
  handlers.on_frame = [](const std::shared_ptr<net::Connection>& c, net::Frame&& f) {
    c->send(f.type, f.payload);
  };
  handlers.on_log = log.handler();
  return std::make_unique<net::Server>(options, handlers);
}

/// Sends a heartbeat through `c` and expects it back from an echo server.
void expect_echo(net::Connection& c, const std::string& payload) {
  c.send(FrameType::heartbeat, payload);
  const auto back = c.receive(kGenerous);
  REQUIRE(back.has_value());
  CHECK(back->type == FrameType::heartbeat);
  CHECK(back->payload == payload);
}

/// HMAC-SHA256 through OpenSSL's EVP_MAC interface: an independent check of compute_proof.
net::Proof reference_hmac(std::string_view key, const std::string& message) {
  net::Proof out{};
  std::size_t len = 0;
  static const unsigned char kEmpty = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr,
                    key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data()),
                    key.size(), reinterpret_cast<const unsigned char*>(message.data()),
                    message.size(), out.data(), out.size(), &len) != nullptr);
  REQUIRE(len == out.size());
  return out;
}

/// The bytes of a nonce or proof (both are 32-byte arrays).
std::string bytes_of(const net::Nonce& n) { return std::string(n.begin(), n.end()); }

/// A file under the temp directory with the given contents, removed afterwards.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("spate-net-auth-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

// ---- proofs ----

TEST_CASE("a proof is HMAC-SHA256(secret, side || own nonce || peer nonce)", "[net][auth]") {
  const net::Nonce a = net::fresh_nonce();
  const net::Nonce b = net::fresh_nonce();
  CHECK(net::compute_proof("s3cret", net::HandshakeSide::client, a, b) ==
        reference_hmac("s3cret", "C" + bytes_of(a) + bytes_of(b)));
  CHECK(net::compute_proof("s3cret", net::HandshakeSide::server, b, a) ==
        reference_hmac("s3cret", "S" + bytes_of(b) + bytes_of(a)));
  // No secret: an empty key, still a well-defined HMAC.
  CHECK(net::compute_proof("", net::HandshakeSide::client, a, b) ==
        reference_hmac("", "C" + bytes_of(a) + bytes_of(b)));
}

TEST_CASE("fresh nonces differ from one another", "[net][auth]") {
  CHECK(net::fresh_nonce() != net::fresh_nonce());
}

TEST_CASE("a proof verifies only for the same secret, side, nonces and length", "[net][auth]") {
  const net::Nonce a = net::fresh_nonce();
  const net::Nonce b = net::fresh_nonce();
  const std::string proof = bytes_of(net::compute_proof("k", net::HandshakeSide::client, a, b));
  CHECK(net::verify_proof("k", net::HandshakeSide::client, a, b, proof));
  CHECK_FALSE(net::verify_proof("K", net::HandshakeSide::client, a, b, proof));
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::client, b, a, proof));
  // Reflection: a client's proof is worthless as a server's, even over the same nonces.
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::server, a, b, proof));
  std::string flipped = proof;
  flipped[31] = static_cast<char>(flipped[31] ^ 1);
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::client, a, b, flipped));
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::client, a, b, proof.substr(0, 31)));
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::client, a, b, proof + "x"));
  CHECK_FALSE(net::verify_proof("k", net::HandshakeSide::client, a, b, ""));
}

// ---- handshake payloads ----

TEST_CASE("handshake payloads round-trip and malformed ones are refused", "[net][auth]") {
  const net::Nonce n = net::fresh_nonce();
  const net::Hello hello = net::decode_hello(net::encode_hello({net::PeerRole::fetcher, n}));
  CHECK(hello.role == net::PeerRole::fetcher);
  CHECK(hello.nonce == n);
  CHECK(net::decode_challenge(net::encode_challenge(n)) == n);
  CHECK(net::decode_refusal(net::encode_refusal("wrong secret")) == "wrong secret");
  CHECK(net::decode_refusal(net::encode_refusal(std::string(5000, 'r'))).size() ==
        net::kMaxRefusalBytes);

  CHECK_THROWS_MATCHES(net::decode_hello("short"), net::net_error,
                       Catch::Message("spate: malformed hello: 5 payload bytes, expected 34"));
  std::string bad_role = net::encode_hello({net::PeerRole::executor, n});
  bad_role[0] = 9;
  CHECK_THROWS_MATCHES(net::decode_hello(bad_role), net::net_error,
                       Catch::Message("spate: malformed hello: unknown peer role 9"));
  CHECK_THROWS_MATCHES(net::decode_challenge(bytes_of(n) + "x"), net::net_error,
                       Catch::Message("spate: malformed challenge: 33 payload bytes, expected 32"));
  CHECK_THROWS_AS(net::decode_refusal("\x05"
                                      "abc"),
                  net::net_error);
  CHECK_THROWS_AS(net::decode_refusal("\xff"), net::net_error);
}

// ---- the secret ----

TEST_CASE("the secret comes from SPATE_SECRET, or a file with its trailing newline trimmed",
          "[net][auth]") {
  CHECK(net::load_secret_from(nullptr, nullptr).empty());
  CHECK(net::load_secret_from("", "").empty());
  CHECK(net::load_secret_from("abc\n", nullptr) == "abc\n");  // a value is taken as is
  TempFile lf("s3cret\n");
  CHECK(net::load_secret_from(nullptr, lf.path().c_str()) == "s3cret");
  TempFile crlf("s3cret\r\n");
  CHECK(net::load_secret_from("", crlf.path().c_str()) == "s3cret");
  TempFile inner("two\nlines\n");
  CHECK(net::load_secret_from(nullptr, inner.path().c_str()) == "two\nlines");
}

TEST_CASE("a secret handed over in a descriptor is read from its start, and the descriptor closed",
          "[net][auth]") {
  int fd = ::memfd_create("test-secret", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "fd-secret", 9) == 9);  // the offset is at the end now: read from the start
  const std::string number = std::to_string(fd);
  CHECK(net::load_secret_from(nullptr, nullptr, number.c_str()) == "fd-secret");
  CHECK(::fcntl(fd, F_GETFD) == -1);  // closed
}

TEST_CASE("SPATE_SECRET_FILE=- reads the secret from one line of standard input", "[net][auth]") {
  int saved = ::dup(STDIN_FILENO);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "stdin-secret\nthe program's own input\n", 37) == 37);
  ::close(fds[1]);
  REQUIRE(::dup2(fds[0], STDIN_FILENO) == STDIN_FILENO);
  ::close(fds[0]);
  std::clearerr(stdin);
  std::string secret = net::load_secret_from(nullptr, "-");
  char rest[64] = {};
  const bool rest_read = std::fgets(rest, sizeof rest, stdin) != nullptr;
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  std::clearerr(stdin);
  CHECK(secret == "stdin-secret");
  CHECK(rest_read);
  CHECK(std::string(rest) == "the program's own input\n");  // only the first line was taken
}

TEST_CASE("a secret that is asked for but unusable is a config error naming the file",
          "[net][auth]") {
  TempFile file("s3cret\n");
  CHECK_THROWS_MATCHES(net::load_secret_from("abc", file.path().c_str()), spate::config_error,
                       Catch::Message("spate: more than one of SPATE_SECRET, SPATE_SECRET_FILE (" +
                                      file.path() + ") and SPATE_SECRET_FD is set; set only one"));
  CHECK_THROWS_WITH(net::load_secret_from(nullptr, nullptr, "not-a-number"),
                    Catch::Contains("SPATE_SECRET_FD 'not-a-number' is not a file descriptor"));
  CHECK_THROWS_MATCHES(net::load_secret_from(nullptr, "/nonexistent/spate-secret"),
                       spate::config_error,
                       Catch::Message("spate: SPATE_SECRET_FILE /nonexistent/spate-secret: "
                                      "cannot open: No such file or directory"));
  TempFile empty("\n");
  CHECK_THROWS_MATCHES(net::load_secret_from(nullptr, empty.path().c_str()), spate::config_error,
                       Catch::Message("spate: SPATE_SECRET_FILE " + empty.path() + " is empty"));
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH(net::load_secret_from(nullptr, dir.c_str()),
                    Catch::Contains("SPATE_SECRET_FILE " + dir));
}

// ---- the handshake over TCP ----

TEST_CASE("peers with the same secret authenticate each other over TCP", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("s3cret", log);
  auto c = net::Connection::connect("127.0.0.1", server->port(), "s3cret", net::PeerRole::fetcher,
                                    kGenerous);
  CHECK(c->role() == net::PeerRole::fetcher);
  CHECK(c->peer() == "127.0.0.1:" + std::to_string(server->port()));
  expect_echo(*c, "ping");
}

TEST_CASE("without a secret both sides run the handshake with an empty key", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("", log);
  auto c = net::Connection::connect("127.0.0.1", server->port(), "", net::PeerRole::executor, 5s);
  expect_echo(*c, "ping");
  // ... which still tells a process with a secret from one without.
  CHECK_THROWS_AS(net::Connection::connect("127.0.0.1", server->port(), "s3cret",
                                           net::PeerRole::executor, kGenerous),
                  net::auth_error);
}

TEST_CASE("a different secret fails on both sides, and the server keeps serving", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("s3cret", log);
  CHECK_THROWS_MATCHES(
      net::Connection::connect("127.0.0.1", server->port(), "guess", net::PeerRole::executor,
                               kGenerous),
      net::auth_error,
      Catch::Message("spate: 127.0.0.1:" + std::to_string(server->port()) +
                     " refused the handshake: authentication failed: the response does not "
                     "prove the cluster secret (does this process hold the same cluster "
                     "secret? see SPATE_SECRET / SPATE_SECRET_FILE)"));
  CHECK(log.saw("did not prove that it holds the cluster secret"));
  auto good = net::Connection::connect("127.0.0.1", server->port(), "s3cret",
                                       net::PeerRole::executor, kGenerous);
  expect_echo(*good, "still here");
}

TEST_CASE("a server that cannot prove the secret is refused by the connecting side",
          "[net][auth]") {
  // An impostor that accepts any response and answers with a proof under the wrong secret.
  std::string refusal_seen;
  FakeServer fake([&](RawPeer& peer) {
    const net::Hello hello = net::decode_hello(peer.read_frame().payload);
    const net::Nonce own = net::fresh_nonce();
    peer.write_frame(FrameType::challenge, net::encode_challenge(own));
    peer.read_frame();  // the client's proof, which the impostor cannot check anyway
    peer.write_frame(FrameType::auth_ok,
                     net::encode_proof(net::compute_proof("impostor", net::HandshakeSide::server,
                                                          own, hello.nonce)));
    const net::Frame verdict = peer.read_frame();
    if (verdict.type == FrameType::auth_refused) {
      refusal_seen = net::decode_refusal(verdict.payload);
    }
  });
  CHECK_THROWS_MATCHES(
      net::Connection::connect("127.0.0.1", fake.port(), "s3cret", net::PeerRole::executor,
                               kGenerous),
      net::auth_error,
      Catch::Message("spate: 127.0.0.1:" + std::to_string(fake.port()) +
                     " could not prove that it holds the cluster secret; not trusting it"));
  CHECK(fake.join() == "");
  CHECK(refusal_seen == "your proof does not match the cluster secret");
}

TEST_CASE("a server that reflects the client's own proof back is refused", "[net][auth]") {
  // The impostor picks its nonce equal to the client's and echoes the client's proof as its
  // own: without the side byte the two MAC inputs would be identical.
  FakeServer fake([&](RawPeer& peer) {
    const net::Hello hello = net::decode_hello(peer.read_frame().payload);
    peer.write_frame(FrameType::challenge, net::encode_challenge(hello.nonce));
    const net::Frame response = peer.read_frame();
    peer.write_frame(FrameType::auth_ok, response.payload);
    peer.closed_by_peer();
  });
  CHECK_THROWS_AS(net::Connection::connect("127.0.0.1", fake.port(), "s3cret",
                                           net::PeerRole::executor, kGenerous),
                  net::auth_error);
  CHECK(fake.join() == "");
}

TEST_CASE("a response recorded from an earlier session is refused when replayed", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("s3cret", log);
  // Session 1: a genuine client; an eavesdropper records its hello and response.
  std::string recorded_hello;
  std::string recorded_response;
  {
    RawPeer genuine(server->port());
    const net::Nonce own = net::fresh_nonce();
    recorded_hello = net::encode_hello({net::PeerRole::executor, own, net::WireMode::sealed});
    genuine.write_frame(FrameType::hello, recorded_hello);
    const net::Nonce theirs = net::decode_challenge(genuine.read_frame().payload);
    recorded_response =
        net::encode_proof(net::compute_proof("s3cret", net::HandshakeSide::client, own, theirs));
    genuine.write_frame(FrameType::auth_response, recorded_response);
    REQUIRE(genuine.read_frame().type == FrameType::auth_ok);
  }
  // Session 2: the eavesdropper, without the secret, replays both.
  RawPeer replayer(server->port());
  replayer.write_frame(FrameType::hello, recorded_hello);
  REQUIRE(replayer.read_frame().type == FrameType::challenge);  // a fresh nonce: ignored
  replayer.write_frame(FrameType::auth_response, recorded_response);
  const net::Frame verdict = replayer.read_frame();
  CHECK(verdict.type == FrameType::auth_refused);
  CHECK(replayer.closed_by_peer());
  CHECK(log.saw("did not prove that it holds the cluster secret"));
}

TEST_CASE("the secret never crosses the wire", "[net][auth]") {
  const std::string secret = "a-very-distinctive-cluster-secret";
  std::string sent_by_client;
  FakeServer fake([&](RawPeer& peer) {
    const net::Frame hello = peer.read_frame();
    peer.write_frame(FrameType::challenge, net::encode_challenge(net::fresh_nonce()));
    const net::Frame response = peer.read_frame();
    sent_by_client = net::encode_frame(hello.type, hello.payload) +
                     net::encode_frame(response.type, response.payload);
    peer.write_frame(FrameType::auth_refused, net::encode_refusal("recorded, thanks"));
  });
  CHECK_THROWS_AS(net::Connection::connect("127.0.0.1", fake.port(), secret,
                                           net::PeerRole::executor, kGenerous),
                  net::auth_error);
  CHECK(fake.join() == "");
  REQUIRE(sent_by_client.size() == 2 * net::kFrameHeaderBytes + 34 + 32);
  CHECK(sent_by_client.find(secret) == std::string::npos);
  CHECK(sent_by_client.find("distinctive") == std::string::npos);
}

TEST_CASE("a handshake out of order is refused and logged", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("s3cret", log);
  RawPeer peer(server->port());
  peer.write_frame(FrameType::launch_task, "run me");
  CHECK(peer.closed_by_peer());
  CHECK(log.saw("expected a hello frame in the handshake, got launch_task"));
  auto good = net::Connection::connect("127.0.0.1", server->port(), "s3cret",
                                       net::PeerRole::executor, kGenerous);
  expect_echo(*good, "ok");
}

TEST_CASE("a malformed hello is refused and logged with the peer's address", "[net][auth]") {
  LogSink log;
  auto server = start_echo_server("s3cret", log);
  RawPeer peer(server->port());
  peer.write_frame(FrameType::hello, "short");
  CHECK(peer.closed_by_peer());
  CHECK(log.saw(": malformed hello: 5 payload bytes, expected 34"));
  CHECK(log.saw("spate: refused a connection: 127.0.0.1:"));
}
