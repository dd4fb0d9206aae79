// A raw-bytes test peer and a one-connection fake server for the net tests: they send what a
// real Connection never would (garbage, replays, resets) over real loopback TCP.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "net/auth.hpp"
#include "net/frame.hpp"
#include "net/record_layer.hpp"

namespace net_test {

namespace net = spate::detail::net;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::FrameType;

/// Every wait in these tests; none should come close.
inline constexpr std::chrono::seconds kGenerous{5};

/// A test peer speaking raw bytes over loopback, to send what a real Connection never would;
/// every wait is bounded by kGenerous, and a timeout or error throws std::runtime_error.
class RawPeer {
 public:
  /// Connects to 127.0.0.1:port.
  explicit RawPeer(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  void write(std::string_view bytes) {
    run([&](auto done) { asio::async_write(socket_, asio::buffer(bytes), done); });
  }
  /// Writes one frame, sealed once a handshake with a secret has set keys (as a Connection does).
  void write_frame(FrameType type, std::string_view payload) { write(frame_bytes(type, payload)); }
  /// The bytes of one frame as write_frame would send them, sealed when keys are set; each call
  /// counts as a frame sent.
  std::string frame_bytes(FrameType type, std::string_view payload) {
    if (!sealer_) return net::encode_frame(type, payload);
    const auto header = net::encode_frame_header(type, payload.size() + net::kTagBytes);
    std::string sealed;
    sealer_->seal(header, payload, sealed);
    return std::string(header.data(), header.size()) + sealed;
  }
  std::string read(std::size_t n) {
    std::string out(n, '\0');
    run([&](auto done) { asio::async_read(socket_, asio::buffer(out), done); });
    return out;
  }
  /// Reads one frame, opening it once keys are set.
  net::Frame read_frame() {
    const std::string header = read(net::kFrameHeaderBytes);
    std::array<char, net::kFrameHeaderBytes> h;
    std::copy(header.begin(), header.end(), h.begin());
    const auto decoded = net::decode_frame_header(h);
    std::string payload = read(decoded.payload_bytes);
    if (opener_) payload.resize(opener_->open(h, payload.data(), payload.size()));
    return {decoded.type, std::move(payload)};
  }
  /// Accepts one connection on `acceptor`, whose handlers run on `acceptor_io`.
  RawPeer(tcp::acceptor& acceptor, asio::io_context& acceptor_io) : socket_(io_) {
    run(
        acceptor_io,
        [&](auto done) { acceptor.async_accept(socket_, [done](auto ec) { done(ec, 0); }); },
        [&] { acceptor.cancel(); });
  }

  /// Runs the listening side of the handshake with `secret`, as a genuine server would, in the
  /// mode the client asks for (sealing what follows when it asks for sealed frames).
  void serve_handshake(const std::string& secret) {
    const net::Hello hello = net::decode_hello(read_frame().payload);
    const net::Nonce own = net::fresh_nonce();
    write_frame(FrameType::challenge, net::encode_challenge(own));
    read_frame();
    write_frame(FrameType::auth_ok, net::encode_proof(net::compute_proof(
                                        secret, net::HandshakeSide::server, own, hello.nonce)));
    if (hello.mode == net::WireMode::sealed)
      use_keys(net::derive_session_keys(secret, hello.nonce, own, net::HandshakeSide::server));
  }
  /// Runs the connecting side of the handshake with `secret`, as a genuine peer would: frames
  /// after it are sealed when there is a secret, as a Connection's are by default.
  void authenticate(const std::string& secret) {
    const net::Nonce own = net::fresh_nonce();
    const auto mode = secret.empty() ? net::WireMode::plain : net::WireMode::sealed;
    write_frame(FrameType::hello, net::encode_hello({net::PeerRole::executor, own, mode}));
    const net::Nonce theirs = net::decode_challenge(read_frame().payload);
    write_frame(FrameType::auth_response, net::encode_proof(net::compute_proof(
                                              secret, net::HandshakeSide::client, own, theirs)));
    if (read_frame().type != FrameType::auth_ok) throw std::runtime_error("not authenticated");
    if (mode == net::WireMode::sealed)
      use_keys(net::derive_session_keys(secret, own, theirs, net::HandshakeSide::client));
  }
  void use_keys(const net::SessionKeys& keys) {
    sealer_ = std::make_unique<net::FrameSealer>(keys.send);
    opener_ = std::make_unique<net::FrameOpener>(keys.receive);
  }
  /// True when the other side closes (EOF or reset) within kGenerous; data before it is skipped.
  bool closed_by_peer() {
    const auto deadline = std::chrono::steady_clock::now() + kGenerous;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      bool done = false;
      socket_.async_read_some(asio::buffer(buf), [&](auto e, std::size_t) {
        ec = e;
        done = true;
      });
      io_.restart();
      io_.run_until(deadline);
      if (!done) break;
      if (ec) return true;
    }
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();
    return false;
  }
  /// Closes with a TCP reset rather than an orderly FIN.
  void reset() {
    socket_.set_option(asio::socket_base::linger(true, 0));
    socket_.close();
  }

 private:
  template <class Start>
  void run(Start start) {
    run(io_, start, [this] {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
    });
  }
  // Starts an async operation whose handler runs on `io`, and waits for it; on timeout,
  // `cancel` aborts it and its handler runs before this throws.
  template <class Start, class Cancel>
  void run(asio::io_context& io, Start start, Cancel cancel) {
    boost::system::error_code result;
    bool done = false;
    start([&](boost::system::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    io.restart();
    io.run_for(kGenerous);
    if (!done) {
      cancel();
      io.restart();
      io.run();
      throw std::runtime_error("test peer: timed out");
    }
    if (result) throw std::runtime_error("test peer: " + result.message());
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::unique_ptr<net::FrameSealer> sealer_;  // set by a handshake that sealed
  std::unique_ptr<net::FrameOpener> opener_;
};

/// A fake server on 127.0.0.1: accepts one connection on its own thread and runs `script` on it.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(RawPeer&)> script)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, script = std::move(script)] {
      try {
        RawPeer peer(acceptor_, io_);
        script(peer);
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    });
  }
  ~FakeServer() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  /// Waits for the script to end; returns what it threw, or "".
  std::string join() {
    thread_.join();
    return error_;
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::string error_;
};

}  // namespace net_test
