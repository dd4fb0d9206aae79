// Connection and Server over Boost.Asio (see connection.hpp for the threading and timeout model).
#include "net/connection.hpp"

#include "net/record_layer.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

namespace spate::detail::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

// The payload buffer starts at this size and doubles as bytes arrive, so what a peer makes us
// allocate follows what it sends, not what it claims.
constexpr std::size_t kFirstPayloadChunk = std::size_t{64} << 10;

// now + timeout, saturating instead of overflowing for "forever"-sized timeouts.
Clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  const auto now = Clock::now();
  if (timeout <= std::chrono::milliseconds::zero()) return now;
  if (timeout >=
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)) {
    return Clock::time_point::max();
  }
  return now + timeout;
}

// Milliseconds left until `deadline` for poll(): rounded up (so we never wake just early and
// spin), clamped to int, 0 when it has passed.
int poll_millis(Clock::time_point deadline) {
  const auto now = Clock::now();
  if (deadline <= now) return 0;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return static_cast<int>(std::min<long long>(left, INT_MAX));
}

// An exception's message without the "spate: " that every spate message starts with, for
// embedding in another message.
std::string_view bare(const char* what) {
  std::string_view s(what);
  constexpr std::string_view kPrefix = "spate: ";
  if (s.starts_with(kPrefix)) s.remove_prefix(kPrefix.size());
  return s;
}

std::string endpoint_string(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6()) return fmt::format("[{}]:{}", addr.to_string(), ep.port());
  return fmt::format("{}:{}", addr.to_string(), ep.port());
}

}  // namespace

// The state behind a Connection: the socket, the partial frame being received, and why the
// connection closed. The io_context is shared with whoever created the socket (a Server's is
// shared by its connections) and only ever owns sockets here: the blocking calls never run it.
class Connection::Impl {
 public:
  Impl(std::shared_ptr<asio::io_context> io, tcp::socket socket, ConnectionOptions options)
      : io_(std::move(io)), socket_(std::move(socket)), options_(options) {
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("an unknown peer") : endpoint_string(remote);
    // Non-blocking so that every wait is ours, with a deadline (see connection.hpp).
    socket_.non_blocking(true, ec);
    if (ec) {
      throw net_error(
          fmt::format("spate: {}: cannot make the socket non-blocking: {}", peer_, ec.message()));
    }
    // Heartbeats and task launches are small: send them now rather than wait to coalesce.
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
  }

  ~Impl() {
    error_code ec;
    socket_.close(ec);
  }

  const std::string& peer() const noexcept { return peer_; }
  PeerRole role() const noexcept { return role_; }
  bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }
  std::uint64_t bytes_received() const noexcept { return received_.load(); }
  std::uint64_t bytes_sent() const noexcept { return sent_.load(); }

  std::string close_reason() const {
    std::lock_guard lock(state_mutex_);
    return close_reason_;
  }

  void close(std::string_view reason) noexcept {
    try {
      std::lock_guard lock(state_mutex_);
      if (!open_.load()) return;
      close_reason_ = std::string(reason);
      open_.store(false, std::memory_order_release);
    } catch (...) {
      open_.store(false, std::memory_order_release);  // out of memory for the reason string
    }
    // shutdown, not close: it is safe while another thread is in a send or receive on this
    // socket, and wakes its poll(). The descriptor is closed in the destructor.
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
  }

  // Sends one frame; the wait for the peer ends at `deadline` or when it accepts no byte for
  // `stall_timeout`, whichever comes first.
  void send_frame(FrameType type, std::string_view payload, std::size_t max_payload,
                  Clock::time_point deadline, std::chrono::milliseconds stall_timeout) {
    std::lock_guard lock(send_mutex_);
    send_locked(type, payload, max_payload, deadline, stall_timeout);
  }

  // Sends `payload` as continued frames and a last frame of `type`, all under one hold of the
  // send lock so that no other frame comes between them. Sealed frames carry at most
  // kMaxSealedPlaintext each, so that sealing needs a buffer of that size only.
  void send_message(FrameType type, std::string_view payload, std::size_t max_payload,
                    std::chrono::milliseconds stall_timeout) {
    std::lock_guard lock(send_mutex_);
    std::size_t part_bytes = max_payload;
    if (sealer_) part_bytes = std::min(max_payload > kTagBytes ? max_payload - kTagBytes : 1, kMaxSealedPlaintext);
    while (payload.size() > part_bytes) {
      send_locked(FrameType::continued, payload.substr(0, part_bytes), max_payload, Clock::time_point::max(),
                  stall_timeout);
      payload.remove_prefix(part_bytes);
    }
    send_locked(type, payload, max_payload, Clock::time_point::max(), stall_timeout);
  }

  // One frame on the wire, sealed once the handshake has set keys; the caller holds send_mutex_.
  void send_locked(FrameType type, std::string_view payload, std::size_t max_payload,
                   Clock::time_point deadline, std::chrono::milliseconds stall_timeout) {
    throw_if_closed();
    const auto header = encode_frame_header(type, payload.size() + (sealer_ ? kTagBytes : 0), max_payload);
    if (sealer_) {
      sealer_->seal(header, payload, sealed_);
      payload = sealed_;
    }
    std::array<asio::const_buffer, 2> parts = {asio::buffer(header), asio::buffer(payload)};
    std::size_t total = header.size() + payload.size();
    std::size_t done = 0;
    auto stall_deadline = deadline_after(stall_timeout);
    while (done < total) {
      // Gather header and payload into one sendmsg; after a partial write, skip what went.
      std::array<asio::const_buffer, 2> rest = parts;
      std::size_t skip = done;
      for (auto& part : rest) {
        const std::size_t cut = std::min(skip, part.size());
        part += cut;
        skip -= cut;
      }
      error_code ec;
      const std::size_t n = socket_.write_some(rest, ec);
      if (n > 0) {
        done += n;
        sent_ += n;
        stall_deadline = deadline_after(stall_timeout);
        continue;
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        const auto until = std::min(deadline, stall_deadline);
        if (!wait_for(POLLOUT, until)) {
          const auto reason = fmt::format(
              "spate: sending a {} frame to {} timed out after {} of {} bytes: the peer is "
              "not reading",
              frame_type_name(type), peer_, done, total);
          close(reason);
          throw net_error(reason);
        }
        continue;
      }
      if (ec == asio::error::interrupted) continue;
      fail(fmt::format("while sending a {} frame ({} of {} bytes sent)", frame_type_name(type),
                       done, total),
           ec);
    }
  }

  // The next message, or nullopt at `deadline`; partial progress is kept for the next call.
  // The frames of a message land in one buffer (payload_): earlier_ bytes of completed
  // continued frames, then payload_got_ bytes of the current frame.
  std::optional<Frame> receive_frame(Clock::time_point deadline, std::size_t max_payload,
                                     std::size_t max_message) {
    std::lock_guard lock(receive_mutex_);
    for (;;) {
      if (header_got_ < kFrameHeaderBytes) {
        const std::size_t n = read_some(header_.data() + header_got_,
                                        kFrameHeaderBytes - header_got_, deadline, "header");
        if (n == 0) return std::nullopt;
        header_got_ += n;
        if (header_got_ < kFrameHeaderBytes) continue;
        try {
          pending_ = decode_frame_header(header_, max_payload);
          if (earlier_ + pending_.payload_bytes > max_message) {
            throw net_error(fmt::format(
                "spate: a message of more than {} bytes (a {} frame of {} after {} bytes of "
                "continued frames) exceeds the message limit of {} bytes",
                earlier_ + pending_.payload_bytes, frame_type_name(pending_.type),
                pending_.payload_bytes, earlier_, max_message));
          }
        } catch (const net_error& e) {
          const auto reason = fmt::format("spate: {}: {}", peer_, bare(e.what()));
          close(reason);
          throw net_error(reason);
        }
        if (earlier_ == 0) payload_.clear();
        payload_got_ = 0;
      }
      if (payload_got_ == pending_.payload_bytes) {
        header_got_ = 0;
        // A refusal of our proof comes before the peer's keys, in clear: only as the first frame.
        const bool plain_refusal = pending_.type == FrameType::auth_refused && opener_ && opener_->count() == 0;
        if (opener_ && !plain_refusal) {
          try {
            payload_got_ = opener_->open(header_, payload_.data() + earlier_, payload_got_);
          } catch (const net_error& e) {
            const auto reason = fmt::format("spate: {}: {}", peer_, bare(e.what()));
            close(reason);
            throw net_error(reason);
          }
        }
        if (pending_.type == FrameType::continued) {
          earlier_ += payload_got_;
          payload_got_ = 0;
          continue;
        }
        Frame frame{pending_.type, std::move(payload_)};
        frame.payload.resize(earlier_ + payload_got_);
        payload_ = std::string();
        earlier_ = 0;
        payload_got_ = 0;
        return frame;
      }
      const std::size_t at = earlier_ + payload_got_;
      if (at == payload_.size()) {
        const std::size_t grown = std::max(kFirstPayloadChunk, payload_.size() * 2);
        payload_.resize(std::min<std::size_t>(grown, earlier_ + pending_.payload_bytes));
      }
      const std::size_t n =
          read_some(payload_.data() + at, payload_.size() - at, deadline, "payload");
      if (n == 0) return std::nullopt;
      payload_got_ += n;
    }
  }

  // Runs the connecting side of the handshake (auth.hpp); throws on any failure.
  void client_handshake(std::string_view secret, PeerRole role, Clock::time_point deadline,
                        std::chrono::milliseconds timeout) {
    role_ = role;
    const Nonce own = fresh_nonce();
    const WireMode mode = wire_mode(secret);
    handshake_send(FrameType::hello, encode_hello({role, own, mode}), deadline);
    Frame challenge = handshake_receive(deadline, timeout, "challenge");
    expect(challenge, FrameType::challenge);
    const Nonce theirs = parse([&] { return decode_challenge(challenge.payload); });
    handshake_send(FrameType::auth_response,
                   encode_proof(compute_proof(secret, HandshakeSide::client, own, theirs)),
                   deadline);
    Frame verdict = handshake_receive(deadline, timeout, "auth_ok");
    expect(verdict, FrameType::auth_ok);
    if (!verify_proof(secret, HandshakeSide::server, theirs, own, verdict.payload)) {
      const auto reason = fmt::format(
          "spate: {} could not prove that it holds the cluster secret; not trusting it", peer_);
      refuse("your proof does not match the cluster secret", deadline);
      close(reason);
      throw auth_error(reason);
    }
    if (mode == WireMode::sealed) use_keys(derive_session_keys(secret, own, theirs, HandshakeSide::client));
  }

  // Runs the listening side of the handshake; throws on any failure.
  void server_handshake(std::string_view secret, Clock::time_point deadline,
                        std::chrono::milliseconds timeout) {
    Frame hello_frame = handshake_receive(deadline, timeout, "hello");
    expect(hello_frame, FrameType::hello);
    const Hello hello = parse([&] { return decode_hello(hello_frame.payload); });
    role_ = hello.role;
    const WireMode mode = wire_mode(secret);
    if (hello.mode != mode) {
      // Said before any proof: a peer that cannot speak our mode learns it at once, and one
      // whose mode byte was changed on the way is turned away rather than downgraded.
      const auto reason = fmt::format(
          "spate: {} ({}) would send {} frames, but this process {}", peer_, peer_role_name(role_),
          wire_mode_name(hello.mode),
          mode == WireMode::sealed ? "encrypts every frame (it holds a cluster secret; "
                                     "SPATE_WIRE_ENCRYPTION must be the same at both ends)"
                                   : "sends plain frames (no cluster secret, or SPATE_WIRE_ENCRYPTION=off)");
      refuse(fmt::format("this process expects {} frames, not {}", wire_mode_name(mode), wire_mode_name(hello.mode)),
             deadline);
      close(reason);
      throw auth_error(reason);
    }
    const Nonce own = fresh_nonce();
    handshake_send(FrameType::challenge, encode_challenge(own), deadline);
    Frame response = handshake_receive(deadline, timeout, "auth_response");
    expect(response, FrameType::auth_response);
    if (!verify_proof(secret, HandshakeSide::client, hello.nonce, own, response.payload)) {
      const auto reason =
          fmt::format("spate: {} ({}) did not prove that it holds the cluster secret", peer_,
                      peer_role_name(role_));
      refuse("authentication failed: the response does not prove the cluster secret", deadline);
      close(reason);
      throw auth_error(reason);
    }
    handshake_send(FrameType::auth_ok,
                   encode_proof(compute_proof(secret, HandshakeSide::server, own, hello.nonce)),
                   deadline);
    if (mode == WireMode::sealed) use_keys(derive_session_keys(secret, hello.nonce, own, HandshakeSide::server));
  }

  // A frame after the handshake: handshake frames are out of order now.
  std::optional<Frame> receive(std::chrono::milliseconds timeout) {
    std::optional<Frame> frame = receive_frame(deadline_after(timeout), options_.max_frame_bytes,
                                               options_.max_message_bytes);
    if (frame && is_handshake_frame(frame->type)) {
      if (frame->type == FrameType::auth_refused) {
        std::string why;
        try {
          why = decode_refusal(frame->payload);
        } catch (const net_error& e) {
          why = std::string(bare(e.what()));
        }
        const auto reason = fmt::format("spate: {} refused our handshake proof: {}", peer_, why);
        close(reason);
        throw auth_error(reason);
      }
      const auto reason = fmt::format("spate: {}: a {} frame after the handshake is out of order",
                                      peer_, frame_type_name(frame->type));
      close(reason);
      throw net_error(reason);
    }
    return frame;
  }

  void send(FrameType type, std::string_view payload) {
    if (is_handshake_frame(type)) {
      throw net_error(
          fmt::format("spate: a {} frame is sent by the handshake only", frame_type_name(type)));
    }
    if (type == FrameType::continued) {
      throw net_error("spate: continued frames are the connection's own; send the whole message");
    }
    if (payload.size() > options_.max_message_bytes) {
      throw net_error(fmt::format(
          "spate: a {} message of {} bytes exceeds the message limit of {} bytes",
          frame_type_name(type), payload.size(), options_.max_message_bytes));
    }
    send_message(type, payload, options_.max_frame_bytes, options_.send_timeout);
  }

 private:
  // Sealed when there is a secret to derive keys from and encryption is on.
  WireMode wire_mode(std::string_view secret) const {
    return options_.encrypt && !secret.empty() ? WireMode::sealed : WireMode::plain;
  }

  void use_keys(const SessionKeys& keys) {
    std::scoped_lock lock(send_mutex_, receive_mutex_);
    sealer_.emplace(keys.send);
    opener_.emplace(keys.receive);
  }

  // The stream failed `where` ("between frames", "while sending ..."): close and throw. When
  // this side closed it first, that reason is the one that counts.
  [[noreturn]] void fail(const std::string& where, const error_code& ec) {
    throw_if_closed();
    std::string reason;
    if (ec == asio::error::eof) {
      reason = fmt::format("spate: {} closed the connection {}", peer_, where);
    } else {
      reason = fmt::format("spate: connection to {} failed {}: {}", peer_, where, ec.message());
    }
    close(reason);
    throw connection_closed(reason);
  }

  // Throws connection_closed, with the recorded reason, once the connection is closed.
  void throw_if_closed() const {
    if (is_open()) return;
    std::string reason = close_reason();
    if (reason.empty()) reason = fmt::format("spate: the connection to {} is closed", peer_);
    throw connection_closed(reason);
  }

  // Reads up to n (> 0) bytes; returns 0 only when `deadline` passed with nothing to read.
  std::size_t read_some(char* out, std::size_t n, Clock::time_point deadline, const char* part) {
    for (;;) {
      throw_if_closed();
      error_code ec;
      const std::size_t got = socket_.read_some(asio::buffer(out, n), ec);
      if (got > 0) {
        received_ += got;
        return got;
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        if (!wait_for(POLLIN, deadline)) return 0;
        continue;
      }
      if (ec == asio::error::interrupted) continue;
      fail(where_in_frame(part), ec ? ec : asio::error::eof);
    }
  }

  // How far into the current frame the stream is, for the message when it ends early.
  std::string where_in_frame(const char* part) const {
    if (std::string_view(part) == "header") {
      if (header_got_ == 0) return "between frames";
      return fmt::format("after {} of {} header bytes", header_got_, kFrameHeaderBytes);
    }
    return fmt::format("after {} of {} payload bytes of a {} frame", payload_got_,
                       pending_.payload_bytes, frame_type_name(pending_.type));
  }

  // Waits until the socket is ready for `events` or `deadline` passes (false then).
  bool wait_for(short events, Clock::time_point deadline) {
    for (;;) {
      pollfd pfd{socket_.native_handle(), events, 0};
      const int millis = poll_millis(deadline);
      const int r = ::poll(&pfd, 1, millis);
      if (r > 0) return true;  // ready, or an error/hangup the next call will report
      if (r == 0) {
        if (Clock::now() >= deadline) return false;
        continue;  // woke early (rounding); wait out the rest
      }
      if (errno != EINTR) return true;  // let the read or write report the error
    }
  }

  void handshake_send(FrameType type, std::string_view payload, Clock::time_point deadline) {
    send_frame(type, payload, kMaxHandshakeFrameBytes, deadline, std::chrono::hours(24));
  }

  Frame handshake_receive(Clock::time_point deadline, std::chrono::milliseconds timeout,
                          const char* waiting_for) {
    std::optional<Frame> frame =
        receive_frame(deadline, kMaxHandshakeFrameBytes, kMaxHandshakeFrameBytes);
    if (!frame) {
      const auto reason =
          fmt::format("spate: handshake with {} timed out after {} ms (waiting for {})", peer_,
                      timeout.count(), waiting_for);
      close(reason);
      throw net_error(reason);
    }
    return std::move(*frame);
  }

  // Throws unless `frame` is of type `want`; a refusal becomes an auth_error with its reason.
  void expect(const Frame& frame, FrameType want) {
    if (frame.type == want) return;
    if (frame.type == FrameType::auth_refused) {
      const auto reason = fmt::format(
          "spate: {} refused the handshake: {} (does this process hold the same "
          "cluster secret? see SPATE_SECRET / SPATE_SECRET_FILE)",
          peer_, parse([&] { return decode_refusal(frame.payload); }));
      close(reason);
      throw auth_error(reason);
    }
    const auto reason = fmt::format("spate: {}: expected a {} frame in the handshake, got {}",
                                    peer_, frame_type_name(want), frame_type_name(frame.type));
    close(reason);
    throw net_error(reason);
  }

  // Runs a handshake payload decoder; a malformed payload closes the connection and throws a
  // net_error that names the peer.
  template <class Decode>
  std::invoke_result_t<Decode> parse(Decode decode) {
    try {
      return decode();
    } catch (const net_error& e) {
      const auto reason = fmt::format("spate: {}: {}", peer_, bare(e.what()));
      close(reason);
      throw net_error(reason);
    }
  }

  // Tells the peer why we refuse it, if it is still listening; failures are irrelevant.
  void refuse(std::string_view why, Clock::time_point deadline) noexcept {
    try {
      handshake_send(FrameType::auth_refused, encode_refusal(why),
                     std::min(deadline, deadline_after(std::chrono::milliseconds(200))));
    } catch (...) {
    }
  }

  std::shared_ptr<asio::io_context> io_;  // before socket_: it must outlive the socket
  tcp::socket socket_;
  ConnectionOptions options_;
  std::string peer_;
  PeerRole role_ = PeerRole::executor;

  std::atomic<bool> open_{true};
  mutable std::mutex state_mutex_;  // guards close_reason_
  std::string close_reason_;
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> sent_{0};

  std::mutex send_mutex_;     // one frame on the wire at a time
  std::mutex receive_mutex_;  // one receiver at a time; guards the partial frame below
  std::array<char, kFrameHeaderBytes> header_{};
  std::size_t header_got_ = 0;
  FrameHeader pending_{};
  std::string payload_;
  std::size_t earlier_ = 0;  // bytes of the message's completed continued frames
  std::size_t payload_got_ = 0;
  std::optional<FrameSealer> sealer_;  // set by the handshake when frames are sealed
  std::optional<FrameOpener> opener_;
  std::string sealed_;  // the frame being sent, sealed; guarded by send_mutex_
};

bool wire_encryption_default() {
  const char* v = std::getenv("SPATE_WIRE_ENCRYPTION");
  if (v == nullptr) return true;
  const std::string_view value(v);
  return !(value == "off" || value == "0" || value == "false" || value == "no");
}

// ---- Connection ----

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

std::shared_ptr<Connection> Connection::connect(const std::string& host, std::uint16_t port,
                                                std::string_view secret, PeerRole role,
                                                std::chrono::milliseconds timeout,
                                                const ConnectionOptions& options) {
  const auto deadline = deadline_after(timeout);
  auto io = std::make_shared<asio::io_context>();
  error_code ec;
  tcp::resolver resolver(*io);
  const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) {
    throw net_error(fmt::format("spate: cannot resolve {}:{}: {}", host, port, ec.message()));
  }
  // An async connect on the private io_context, run until the deadline: the one wait Asio
  // times out for us.
  tcp::socket socket(*io);
  bool done = false;
  error_code connect_ec;
  asio::async_connect(socket, endpoints, [&](const error_code& e, const tcp::endpoint&) {
    done = true;
    connect_ec = e;
  });
  io->run_until(deadline);
  if (!done) {
    socket.close(ec);  // cancels the attempt; run() then delivers its handler
    io->restart();
    io->run();
    throw net_error(fmt::format("spate: connecting to {}:{} timed out after {} ms", host, port,
                                timeout.count()));
  }
  if (connect_ec) {
    throw net_error(
        fmt::format("spate: cannot connect to {}:{}: {}", host, port, connect_ec.message()));
  }
  auto impl = std::make_unique<Impl>(io, std::move(socket), options);
  impl->client_handshake(secret, role, deadline, timeout);
  return std::make_shared<Connection>(std::move(impl));
}

void Connection::send(FrameType type, std::string_view payload) { impl_->send(type, payload); }

std::optional<Frame> Connection::receive(std::chrono::milliseconds timeout) {
  return impl_->receive(timeout);
}

void Connection::close(std::string_view reason) noexcept { impl_->close(reason); }
bool Connection::is_open() const noexcept { return impl_->is_open(); }
std::string Connection::close_reason() const { return impl_->close_reason(); }
const std::string& Connection::peer() const noexcept { return impl_->peer(); }
PeerRole Connection::role() const noexcept { return impl_->role(); }
std::uint64_t Connection::bytes_received() const noexcept { return impl_->bytes_received(); }
std::uint64_t Connection::bytes_sent() const noexcept { return impl_->bytes_sent(); }

// ---- Server ----

// The acceptor and its thread, and one entry per connection being served. An entry's thread
// marks it done as its last act; the accept loop and stop() join done threads.
class Server::Impl {
 public:
  Impl(ServerOptions options, ServerHandlers handlers)
      : options_(std::move(options)),
        handlers_(std::move(handlers)),
        io_(std::make_shared<asio::io_context>()),
        acceptor_(*io_),
        retry_timer_(*io_) {
    error_code ec;
    tcp::resolver resolver(*io_);
    const auto endpoints =
        resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) {
      throw net_error(fmt::format("spate: cannot listen on {}:{}: {}", options_.host, options_.port,
                                  ec ? ec.message() : "no address"));
    }
    const tcp::endpoint endpoint = *endpoints.begin();
    const auto check = [&](const char* step) {
      if (!ec) return;
      throw net_error(fmt::format("spate: cannot listen on {}:{}: {} failed: {}", options_.host,
                                  options_.port, step, ec.message()));
    };
    acceptor_.open(endpoint.protocol(), ec);
    check("open");
    // Lets a restarted driver rebind its port while old connections sit in TIME_WAIT.
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    check("SO_REUSEADDR");
    acceptor_.bind(endpoint, ec);
    check("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    check("listen");
    bound_ = acceptor_.local_endpoint(ec);
    check("getsockname");
    accept_next();
    accept_thread_ = std::thread([this] { run_accept_loop(); });
  }

  std::uint16_t port() const noexcept { return bound_.port(); }
  std::string address() const { return endpoint_string(bound_); }

  std::size_t connection_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return !e.done; }));
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      for (const Entry& e : entries_) {
        if (e.thread.get_id() == std::this_thread::get_id()) {
          throw std::logic_error("spate: Server::stop() called from a connection handler");
        }
      }
      if (stopped_) return;
      stopped_ = true;
    }
    io_->stop();
    if (accept_thread_.joinable()) accept_thread_.join();
    error_code ec;
    acceptor_.close(ec);
    std::list<Entry> entries;
    {
      std::lock_guard lock(mutex_);
      for (Entry& e : entries_) e.connection->close("spate: server stopping");
      entries.swap(entries_);
    }
    for (Entry& e : entries) e.thread.join();
  }

 private:
  struct Entry {
    std::shared_ptr<Connection> connection;
    std::thread thread;
    bool done = false;
  };

  // Runs the accept loop until stop(). A handler that throws (out of memory, say) is logged and
  // the loop goes on: run() may be called again after an exception.
  void run_accept_loop() noexcept {
    for (;;) {
      try {
        io_->run();
        return;
      } catch (const std::exception& e) {
        log(fmt::format("spate: server on {}: {}", address(), bare(e.what())));
      }
    }
  }

  void accept_next() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors or similar: log, wait a little, try again (no busy loop).
        log(fmt::format("spate: server on {}: accept failed: {}", address(), ec.message()));
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([this](const error_code& e) {
          if (!e) accept_next();
        });
        return;
      }
      admit(std::move(socket));
      accept_next();
    });
  }

  // Starts serving a freshly accepted socket on a thread of its own, or closes it when the
  // server is stopping or full.
  void admit(tcp::socket socket) {
    std::shared_ptr<Connection> connection;
    try {
      connection = std::make_shared<Connection>(
          std::make_unique<Connection::Impl>(io_, std::move(socket), options_.connection));
    } catch (const std::exception& e) {
      log(fmt::format("spate: server on {}: dropped a connection: {}", address(), bare(e.what())));
      return;
    }
    std::lock_guard lock(mutex_);
    reap_locked();
    if (stopped_) return;  // the connection's destructor closes the socket
    if (entries_.size() >= options_.max_connections) {
      log(
          fmt::format("spate: refused a connection from {}: already serving {} connections (the "
                      "limit)",
                      connection->peer(), entries_.size()));
      return;
    }
    entries_.push_back(Entry{connection, {}, false});
    auto it = std::prev(entries_.end());
    try {
      it->thread = std::thread([this, it] { serve(it); });
    } catch (const std::system_error& e) {
      log(fmt::format("spate: refused a connection from {}: cannot start a thread: {}",
                      connection->peer(), e.what()));
      entries_.erase(it);
    }
  }

  // Joins and forgets the threads that have finished. Caller holds mutex_.
  void reap_locked() {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->done) {
        it->thread.join();  // it has nothing left to do but return
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }

  // A connection's thread: handshake, on_connected, frames until it ends, on_closed.
  void serve(std::list<Entry>::iterator entry) noexcept {
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard lock(mutex_);
      connection = entry->connection;
    }
    Connection::Impl& impl = *connection->impl_;
    bool authenticated = false;
    try {
      impl.server_handshake(options_.secret, deadline_after(options_.handshake_timeout),
                            options_.handshake_timeout);
      authenticated = true;
    } catch (const std::exception& e) {
      connection->close(e.what());
      if (!is_stopping()) {
        log(fmt::format("spate: refused a connection: {}", bare(e.what())));
      }
    }
    if (authenticated) serve_authenticated(connection);
    std::lock_guard lock(mutex_);
    entry->done = true;
  }

  void serve_authenticated(const std::shared_ptr<Connection>& connection) noexcept {
    const auto describe = [&] {
      return fmt::format("{} ({})", connection->peer(), peer_role_name(connection->role()));
    };
    try {
      if (handlers_.on_connected) handlers_.on_connected(connection);
      // Without an idle timeout, wake now and then anyway: it costs nothing and keeps the
      // deadline arithmetic far from overflow.
      const auto wait = options_.idle_timeout > std::chrono::milliseconds::zero()
                            ? options_.idle_timeout
                            : std::chrono::milliseconds(std::chrono::hours(1));
      std::uint64_t seen = connection->bytes_received();
      for (;;) {
        std::optional<Frame> frame = connection->receive(wait);
        if (!frame) {
          const std::uint64_t now_seen = connection->bytes_received();
          if (options_.idle_timeout > std::chrono::milliseconds::zero() && now_seen == seen) {
            const auto reason = fmt::format("spate: {} sent nothing for {} ms", describe(),
                                            options_.idle_timeout.count());
            log(reason + "; closing the connection");
            connection->close(reason);
            break;
          }
          seen = now_seen;
          continue;
        }
        seen = connection->bytes_received();
        try {
          if (handlers_.on_frame) handlers_.on_frame(connection, std::move(*frame));
        } catch (const std::exception& e) {
          const auto reason =
              fmt::format("spate: the handler of {} failed: {}", describe(), bare(e.what()));
          log(reason);
          connection->close(reason);
          break;
        }
      }
    } catch (const connection_closed& e) {
      // The peer went, or someone closed it; the first reason recorded is the one kept.
      connection->close(e.what());
    } catch (const std::exception& e) {
      // A malformed or out-of-order frame (the connection closed itself), or on_connected threw.
      connection->close(e.what());
      log(fmt::format("spate: closing the {} connection: {}", peer_role_name(connection->role()),
                      bare(e.what())));
    }
    if (handlers_.on_closed) {
      try {
        handlers_.on_closed(connection, connection->close_reason());
      } catch (const std::exception& e) {
        log(fmt::format("spate: the on_closed handler of {} failed: {}", describe(),
                        bare(e.what())));
      }
    }
  }

  bool is_stopping() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

  void log(const std::string& line) const noexcept {
    try {
      if (handlers_.on_log) {
        handlers_.on_log(line);
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
      }
    } catch (...) {
      // A log line is not worth a crash.
    }
  }

  ServerOptions options_;
  ServerHandlers handlers_;
  std::shared_ptr<asio::io_context> io_;  // shared with the connections' sockets
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  tcp::endpoint bound_;
  std::thread accept_thread_;

  mutable std::mutex mutex_;  // guards stopped_ and entries_
  bool stopped_ = false;
  std::list<Entry> entries_;
};

Server::Server(ServerOptions options, ServerHandlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}
Server::~Server() {
  try {
    impl_->stop();
  } catch (const std::logic_error& e) {
    // Destroyed from its own handler: it cannot join the thread it runs on.
    std::fprintf(stderr, "%s\n", e.what());
    std::abort();
  }
}
std::uint16_t Server::port() const noexcept { return impl_->port(); }
std::string Server::address() const { return impl_->address(); }
std::size_t Server::connection_count() const { return impl_->connection_count(); }
void Server::stop() { impl_->stop(); }

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  error_code ec;
  const auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return false;
  if (address.is_loopback()) return true;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  return false;
}

}  // namespace spate::detail::net
