// Authenticated, encrypted TCP connections between spate processes, over Boost.Asio: a blocking Connection
// with a timeout on every wait, and a thread-per-connection Server. Internal; included as
// "net/connection.hpp". The header keeps Asio out of the engine's includes (pimpl).
//
// Threads. A Server runs one thread that accepts (an io_context with an async accept loop) and
// one thread per connection, which runs the handshake and then a receive loop that hands each
// frame to the caller's handler. spate has tens of peers, not thousands: a thread each keeps the
// code blocking and plain, and a peer that stalls (mid-handshake, or in a slow handler) stalls
// only its own thread. max_connections bounds the threads an unknown peer can make us start.
//
// Timeouts. Sockets are switched to non-blocking mode and every wait is a poll() with the time
// left until a deadline: connect + handshake share one deadline; receive() takes its own; a send
// fails when the peer accepts no byte for send_timeout. (SO_RCVTIMEO would not work: Asio's
// synchronous calls poll again, forever, when the socket times out.)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/auth.hpp"
#include "net/frame.hpp"
#include "net/net_error.hpp"

namespace spate::detail::net {

/// False when SPATE_WIRE_ENCRYPTION is "off" (or "0", "false", "no"); true otherwise.
bool wire_encryption_default();

/// Limits a connection enforces on what it sends and receives after the handshake.
struct ConnectionOptions {
  /// The largest frame payload sent or accepted (both ends should agree). A larger message
  /// travels as several frames (see FrameType::continued).
  std::size_t max_frame_bytes = kMaxFrameBytes;
  /// The largest message sent or accepted, in however many frames.
  std::size_t max_message_bytes = kMaxMessageBytes;
  /// A send during which the peer accepts no byte for this long fails and closes the connection.
  std::chrono::milliseconds send_timeout{60'000};
  /// With a secret, seal every frame after the handshake (net/record_layer.hpp); both ends must
  /// agree. On unless the environment says SPATE_WIRE_ENCRYPTION=off (for measuring its cost).
  bool encrypt = wire_encryption_default();
};

/// One authenticated TCP connection to a peer, with blocking, timed operations.
/// Thread-safety: send() from any number of threads at once (each frame goes out whole, never
/// interleaved); receive() from one thread at a time; close() from any thread at any time, and
/// it wakes a blocked send() or receive(). Made by connect() or by a Server, and shared between
/// the code that receives and the code that sends. Closing shuts the socket down; the socket
/// itself is released when the last owner lets go.
class Connection {
 public:
  class Impl;  // defined in connection.cpp

  /// Connects to host:port (an IP literal or a name), runs the connecting side of the handshake
  /// announcing `role`, and returns the authenticated connection. TCP connect and handshake
  /// together must finish within `timeout` (name resolution excepted: it uses the system
  /// resolver's own timeouts; an IP literal never touches DNS). Throws auth_error when the peer
  /// refuses our proof or cannot prove its own, net_error for anything else (refused,
  /// unreachable, timed out, not a spate peer).
  static std::shared_ptr<Connection> connect(const std::string& host, std::uint16_t port,
                                             std::string_view secret, PeerRole role,
                                             std::chrono::milliseconds timeout,
                                             const ConnectionOptions& options = {});

  explicit Connection(std::unique_ptr<Impl> impl);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Sends one message: one frame, or, over max_frame_bytes, continued frames and then one of
  /// `type`, with no other frame between them. Throws net_error, sending nothing, for a payload
  /// over max_message_bytes or a handshake or continued frame type; connection_closed when the
  /// connection is closed; net_error when the peer accepts no byte for send_timeout, after
  /// closing the connection (a partial frame would corrupt the stream).
  void send(FrameType type, std::string_view payload);

  /// Waits up to `timeout` for the next message, returned as one frame whatever number of
  /// frames it came in. Returns nullopt when no whole message arrived in time; the part already
  /// received is kept and completed by the next call. Throws
  /// connection_closed when the peer closed or reset the connection or close() was called;
  /// net_error when the peer sent a malformed, oversized or out-of-order frame; auth_error when
  /// the peer refused our handshake proof. The connection is closed before any of these throws.
  std::optional<Frame> receive(std::chrono::milliseconds timeout);

  /// Shuts the connection down (both directions) and records `reason` for later errors;
  /// idempotent (the first reason stays). Never throws.
  void close(std::string_view reason = "closed by this process") noexcept;

  /// False once the connection is closed, by either side, as far as this side knows.
  bool is_open() const noexcept;
  /// Why the connection closed; "" while open.
  std::string close_reason() const;
  /// The peer's address as "ip:port", for messages.
  const std::string& peer() const noexcept;
  /// The role the connecting side announced in its hello (the same at both ends).
  PeerRole role() const noexcept;
  /// Bytes received from the peer so far, headers included.
  std::uint64_t bytes_received() const noexcept;
  /// Bytes sent to the peer so far, headers included.
  std::uint64_t bytes_sent() const noexcept;

 private:
  friend class Server;
  std::unique_ptr<Impl> impl_;
};

/// Where and how a Server listens.
struct ServerOptions {
  /// The address to bind: an IP literal or a name; "0.0.0.0" or "::" for every interface.
  std::string host = "127.0.0.1";
  /// The port to bind; 0 picks a free one (see Server::port()).
  std::uint16_t port = 0;
  /// The cluster secret; "" means none (see auth.hpp: then bind to loopback only).
  std::string secret;
  /// A peer must complete the handshake within this long of being accepted.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// A connection that receives no byte for this long is closed; 0 = never. With heartbeats
  /// every h, a few h detects a peer whose host dropped off the network.
  std::chrono::milliseconds idle_timeout{0};
  /// Connections served at once (handshaking or authenticated); more are closed on accept.
  std::size_t max_connections = 1024;
  /// Limits of each accepted connection.
  ConnectionOptions connection;
};

/// What a Server does with its connections. Every handler may be empty. Handlers of one
/// connection run on its thread, one at a time; different connections' handlers run at once.
/// A handler that throws gets its connection closed (and logged), never the server stopped.
struct ServerHandlers {
  /// A peer completed the handshake; runs before its first frame. The connection may be kept
  /// and used to send from any thread.
  std::function<void(const std::shared_ptr<Connection>&)> on_connected;
  /// A frame arrived (never a handshake frame).
  std::function<void(const std::shared_ptr<Connection>&, Frame&&)> on_frame;
  /// A connection given to on_connected has closed: the peer closed or reset it, sent a bad
  /// frame, went idle, a handler threw, or the server stopped. Called exactly once, last, with
  /// the reason.
  std::function<void(const std::shared_ptr<Connection>&, const std::string& reason)> on_closed;
  /// One line for the log: a refused peer (failed handshake, bad frame, too many connections),
  /// an accept error, a handler that threw. From any server thread; when empty, the line goes
  /// to stderr (a refused peer is worth seeing even with logging off).
  std::function<void(const std::string& line)> on_log;
};

/// Listens on a TCP port, authenticates each peer, and serves it on a thread of its own until
/// the peer goes or stop() is called. Stays up whatever one peer does. Thread-safe.
class Server {
 public:
  /// Binds and listens, then accepts on a thread of its own. Throws net_error when the address
  /// cannot be resolved or bound (the message names host and port).
  Server(ServerOptions options, ServerHandlers handlers);
  /// stop()s.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port (the chosen one when options.port was 0).
  std::uint16_t port() const noexcept;
  /// The bound address as "ip:port".
  std::string address() const;
  /// Connections being served now (handshaking or authenticated).
  std::size_t connection_count() const;
  /// Stops accepting, closes every connection ("server stopping"), and joins every thread after
  /// its on_closed. Handlers must return for this to return; calling it from a handler throws
  /// std::logic_error rather than deadlock. Idempotent.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// True when `host` is "localhost" or a loopback IP literal (127.0.0.0/8, ::1, or ::ffff:127.x).
/// Other names are false: deciding would need DNS, and "not loopback" is the safe answer for the
/// policy it serves (no secret => listen on loopback only).
bool is_loopback_host(std::string_view host);

}  // namespace spate::detail::net
