// Tests of the record layer (lib/net/record_layer.hpp): per-connection keys, sealed frames that
// detect any change, and a real man in the middle, a TCP proxy between client and server that
// flips a byte, injects a frame, replays one or cuts the stream: the receiver closes that
// connection saying why, and keeps serving the others. Peers that disagree on sealing are
// refused with a message naming the peer.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/auth.hpp"
#include "net/connection.hpp"
#include "net/frame.hpp"
#include "net/net_error.hpp"
#include "net/record_layer.hpp"
#include "process_support.hpp"
#include "test_support.hpp"

namespace {

namespace net = spate::detail::net;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::FrameType;
using namespace std::chrono_literals;

constexpr auto kGenerous = 5s;
const std::string kSecret = "record-layer-secret";

std::array<char, net::kFrameHeaderBytes> header_of(FrameType type, std::size_t sealed_bytes) {
  return net::encode_frame_header(type, sealed_bytes);
}

// A sealed frame's bytes (ciphertext and tag) for `plaintext`.
std::string seal(net::FrameSealer& sealer, FrameType type, const std::string& plaintext) {
  std::string out;
  sealer.seal(header_of(type, plaintext.size() + net::kTagBytes), plaintext, out);
  return out;
}

// Opens `sealed` as the next frame; the plaintext, or the error's message.
std::string open(net::FrameOpener& opener, FrameType type, std::string sealed) {
  try {
    sealed.resize(opener.open(header_of(type, sealed.size()), sealed.data(), sealed.size()));
    return sealed;
  } catch (const net::net_error& e) {
    return std::string("error: ") + e.what();
  }
}

// What a server saw: closes with their reasons, and log lines.
class Seen {
 public:
  net::ServerHandlers handlers() {
    net::ServerHandlers h;
    h.on_frame = [](const std::shared_ptr<net::Connection>& c, net::Frame&& f) { c->send(f.type, f.payload); };
    h.on_closed = [this](const std::shared_ptr<net::Connection>&, const std::string& reason) { add(closed_, reason); };
    h.on_log = [this](const std::string& line) { add(logs_, line); };
    return h;
  }
  // Waits until a close reason contains `text`.
  bool closed_with(const std::string& text) { return wait_for(closed_, text); }
  bool logged(const std::string& text) { return wait_for(logs_, text); }

 private:
  void add(std::vector<std::string>& to, const std::string& line) {
    {
      std::lock_guard lock(mutex_);
      to.push_back(line);
    }
    cv_.notify_all();
  }
  bool wait_for(std::vector<std::string>& in, const std::string& text) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kGenerous, [&] {
      for (const auto& l : in)
        if (l.find(text) != std::string::npos) return true;
      return false;
    });
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> closed_, logs_;
};

net::ServerOptions server_options(bool encrypt = true) {
  net::ServerOptions o;
  o.secret = kSecret;
  o.handshake_timeout = kGenerous;
  o.connection.encrypt = encrypt;
  return o;
}

// What the man in the middle does to the client's frames after the handshake.
enum class Attack { none, flip_byte, inject_frame, replay_frame, truncate };

// A TCP proxy on loopback for one connection: the server's stream goes through untouched; the
// client's goes frame by frame, and frame `target` (counting hello and auth_response as 0 and
// 1) is attacked.
class ManInTheMiddle {
 public:
  ManInTheMiddle(std::uint16_t server_port, Attack attack, int target = 3)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}),
        server_port_(server_port),
        attack_(attack),
        target_(target) {
    thread_ = std::thread([this] { run(); });
  }
  ~ManInTheMiddle() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  bool attacked() const { return attacked_.load(); }

 private:
  void run() {
    try {
      tcp::socket client(io_), server(io_);
      acceptor_.accept(client);
      server.connect({asio::ip::make_address("127.0.0.1"), server_port_});
      std::thread back([&] { pipe_through(server, client); });
      forward_frames(client, server);
      back.join();
    } catch (const std::exception&) {
      // A side closed: the proxy's job is over.
    }
  }

  static void pipe_through(tcp::socket& from, tcp::socket& to) {
    char buf[65536];
    boost::system::error_code ec;
    for (;;) {
      std::size_t n = from.read_some(asio::buffer(buf), ec);
      if (ec || asio::write(to, asio::buffer(buf, n), ec) != n || ec) break;
    }
    to.shutdown(tcp::socket::shutdown_both, ec);
    from.shutdown(tcp::socket::shutdown_both, ec);
  }

  void forward_frames(tcp::socket& from, tcp::socket& to) {
    boost::system::error_code ec;
    for (int index = 0;; ++index) {
      std::string header(net::kFrameHeaderBytes, '\0');
      if (asio::read(from, asio::buffer(header), ec) != header.size() || ec) break;
      std::uint32_t length = 0;
      std::memcpy(&length, header.data() + 4, 4);
      std::string payload(length, '\0');
      if (length > 0 && (asio::read(from, asio::buffer(payload), ec) != length || ec)) break;
      std::string frame = header + payload;
      // Frames 0 and 1 are hello and auth_response; from 2 on they are sealed.
      if (index == target_ && attack_ != Attack::none) {
        attacked_ = true;
        switch (attack_) {
          case Attack::flip_byte:
            frame[net::kFrameHeaderBytes + length / 2] ^= 0x01;
            break;
          case Attack::inject_frame:
            // A frame the proxy made up, of a valid type and length, sent before the real one.
            frame = net::encode_frame(FrameType::launch_task, std::string(64, 'x')) + frame;
            break;
          case Attack::replay_frame:
            frame += frame;
            break;
          case Attack::truncate:
            asio::write(to, asio::buffer(frame.data(), frame.size() / 2), ec);
            to.shutdown(tcp::socket::shutdown_both, ec);
            from.shutdown(tcp::socket::shutdown_both, ec);
            return;
          case Attack::none:
            break;
        }
      }
      if (asio::write(to, asio::buffer(frame), ec) != frame.size() || ec) break;
    }
    to.shutdown(tcp::socket::shutdown_both, ec);
    from.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t server_port_;
  Attack attack_;
  int target_;
  std::atomic<bool> attacked_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("each end's send keys are the other end's receive keys, and differ per connection", "[net][record]") {
  auto c = net::fresh_nonce(), s = net::fresh_nonce();
  auto client = net::derive_session_keys(kSecret, c, s, net::HandshakeSide::client);
  auto server = net::derive_session_keys(kSecret, c, s, net::HandshakeSide::server);
  CHECK(client.send.key == server.receive.key);
  CHECK(client.send.iv == server.receive.iv);
  CHECK(client.receive.key == server.send.key);
  CHECK(client.send.key != client.receive.key);
  auto other = net::derive_session_keys(kSecret, net::fresh_nonce(), s, net::HandshakeSide::client);
  CHECK(other.send.key != client.send.key);
  auto wrong = net::derive_session_keys("another secret", c, s, net::HandshakeSide::client);
  CHECK(wrong.send.key != client.send.key);
}

TEST_CASE("a sealed frame opens once, in order, and only unchanged", "[net][record]") {
  auto keys = net::derive_session_keys(kSecret, net::fresh_nonce(), net::fresh_nonce(), net::HandshakeSide::client);
  net::FrameSealer sealer(keys.send);
  const std::string secret_record = "click,user-42,campaign-7";
  auto first = seal(sealer, FrameType::block_data, secret_record);
  auto second = seal(sealer, FrameType::block_data, secret_record);
  CHECK(first.find("user-42") == std::string::npos);
  CHECK(first != second);  // a new nonce per frame: equal plaintexts do not look equal
  SECTION("in order") {
    net::FrameOpener opener(keys.send);
    CHECK(open(opener, FrameType::block_data, first) == secret_record);
    CHECK(open(opener, FrameType::block_data, second) == secret_record);
    CHECK(opener.count() == 2);
  }
  SECTION("a flipped bit") {
    net::FrameOpener opener(keys.send);
    first[3] ^= 0x10;
    CHECK_THAT(open(opener, FrameType::block_data, first), Catch::Contains("frame 0 failed authentication"));
  }
  SECTION("another type in the header") {
    net::FrameOpener opener(keys.send);
    CHECK_THAT(open(opener, FrameType::task_result, first), Catch::Contains("failed authentication"));
  }
  SECTION("replayed") {
    net::FrameOpener opener(keys.send);
    CHECK(open(opener, FrameType::block_data, first) == secret_record);
    CHECK_THAT(open(opener, FrameType::block_data, first), Catch::Contains("frame 1 failed authentication"));
  }
  SECTION("reordered, or after a dropped frame") {
    net::FrameOpener opener(keys.send);
    CHECK_THAT(open(opener, FrameType::block_data, second), Catch::Contains("frame 0 failed authentication"));
  }
  SECTION("too short to hold a tag") {
    net::FrameOpener opener(keys.send);
    CHECK_THAT(open(opener, FrameType::heartbeat, "abc"), Catch::Contains("too short to be sealed"));
  }
  SECTION("under another connection's keys") {
    auto other = net::derive_session_keys(kSecret, net::fresh_nonce(), net::fresh_nonce(), net::HandshakeSide::client);
    net::FrameOpener opener(other.send);
    CHECK_THAT(open(opener, FrameType::block_data, first), Catch::Contains("failed authentication"));
  }
}

TEST_CASE("a man in the middle who changes the stream gets the connection closed, and the server serves on",
          "[net][record]") {
  Seen seen;
  net::Server server(server_options(), seen.handlers());
  auto bystander = net::Connection::connect("127.0.0.1", server.port(), kSecret, net::PeerRole::executor, kGenerous);
  auto [attack, reason] = GENERATE(table<Attack, std::string>({
      {Attack::flip_byte, "frame 1 failed authentication"},
      {Attack::inject_frame, "frame 1 failed authentication"},
      {Attack::replay_frame, "frame 2 failed authentication"},
      {Attack::truncate, "closed the connection after"},
  }));
  CAPTURE(static_cast<int>(attack));
  ManInTheMiddle mitm(server.port(), attack);
  auto victim = net::Connection::connect("127.0.0.1", mitm.port(), kSecret, net::PeerRole::executor, kGenerous);
  for (int i = 0; i < 3; ++i) victim->send(FrameType::heartbeat, "beat " + std::to_string(i));
  CHECK(seen.closed_with(reason));
  CHECK(mitm.attacked());
  // Of what the victim sent, only frames before the attack (and a replayed frame's original)
  // came back; then its connection ends.
  std::vector<std::string> echoed;
  try {
    while (auto f = victim->receive(kGenerous)) echoed.push_back(f->payload);
  } catch (const net::net_error&) {
  }
  CHECK(echoed.size() <= (attack == Attack::replay_frame ? 2u : 1u));
  bystander->send(FrameType::heartbeat, "still here");
  auto back = bystander->receive(kGenerous);
  REQUIRE(back.has_value());
  CHECK(back->payload == "still here");
}

TEST_CASE("with nothing changed, frames through the proxy arrive sealed and whole", "[net][record]") {
  Seen seen;
  net::Server server(server_options(), seen.handlers());
  ManInTheMiddle mitm(server.port(), Attack::none);
  auto c = net::Connection::connect("127.0.0.1", mitm.port(), kSecret, net::PeerRole::executor, kGenerous);
  std::string big(3 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + 7);
  c->send(FrameType::block_data, big);  // several sealed continued frames
  for (int i = 0; i < 5; ++i) c->send(FrameType::heartbeat, "beat");
  auto back = c->receive(kGenerous);
  REQUIRE(back.has_value());
  CHECK(back->type == FrameType::block_data);
  CHECK(back->payload == big);
}

TEST_CASE("a plain peer and a sealing one refuse each other, naming the peer", "[net][record]") {
  SECTION("a plain client on a sealing server") {
    Seen seen;
    net::Server server(server_options(true), seen.handlers());
    net::ConnectionOptions plain;
    plain.encrypt = false;
    CHECK_THROWS_WITH(net::Connection::connect("127.0.0.1", server.port(), kSecret, net::PeerRole::executor,
                                               kGenerous, plain),
                      Catch::Contains("127.0.0.1:" + std::to_string(server.port())) &&
                          Catch::Contains("expects sealed frames, not plain"));
    CHECK(seen.logged("would send plain frames, but this process encrypts every frame"));
  }
  SECTION("a sealing client on a plain server") {
    Seen seen;
    net::Server server(server_options(false), seen.handlers());
    CHECK_THROWS_WITH(net::Connection::connect("127.0.0.1", server.port(), kSecret, net::PeerRole::executor,
                                               kGenerous),
                      Catch::Contains("127.0.0.1:" + std::to_string(server.port())) &&
                          Catch::Contains("expects plain frames, not sealed"));
    CHECK(seen.logged("would send sealed frames, but this process sends plain frames"));
  }
}

TEST_CASE("a job whose executor's frames are tampered with on the way loses that executor and returns the exact answer",
          "[net][record][cluster]") {
  using namespace spate_test;
  auto attack = GENERATE(Attack::flip_byte, Attack::inject_frame, Attack::replay_frame);
  CAPTURE(static_cast<int>(attack));
  fs::path dir = fs::temp_directory_path() / ("spate-mitm-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::uint16_t port = free_port();
  std::string url = "spate://127.0.0.1:" + std::to_string(port);
  ScopedEnv secret("SPATE_SECRET", kSecret);
  // Executor "direct" reaches the driver itself; "tampered" goes through the proxy, which
  // attacks its 8th frame, a task result or heartbeat once it has run tasks.
  ManInTheMiddle mitm(port, attack, 8);
  Child direct({self_exe(), "--executor", url}, {{"SPATE_SECRET", kSecret}}, dir / "direct.err");
  Child tampered({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(mitm.port())},
                 {{"SPATE_SECRET", kSecret}}, dir / "tampered.err");
  {
    spate::Context ctx(spate::Options{.master = url, .min_executors = 2, .ui = false});
    std::vector<std::pair<int, long>> in;
    std::map<int, long> want;
    for (int i = 0; i < 3000; ++i) {
      in.emplace_back(i % 11, i);
      want[i % 11] += i;
    }
    for (int job = 0; job < 8; ++job) {
      auto got = sorted(ctx.parallelize(in, 8).reduce_by_key(std::plus<>{}, 4).collect());
      REQUIRE(got == std::vector<std::pair<int, long>>(want.begin(), want.end()));
    }
    CHECK(mitm.attacked());
    int lost = 0;
    for (const auto& e : ctx.engine()->executors()) lost += e.alive ? 0 : 1;
    CHECK(lost == 1);
  }
  CHECK(direct.wait_exit(30s) == 0);
  fs::remove_all(dir);
}
