// The driver's status page server: a small HTTP/1.1 server that serves the page and the /api/
// JSON bodies. Internal; included as "ui/status_server.hpp". Asio stays in the .cpp (pimpl), so
// the engine's includes do not pull it in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spate::detail {

/// Answers GET /api/...: the JSON body for a request target such as "/api/jobs" or
/// "/api/stages?job=3" (the query string is passed on as sent), or nullopt for a 404. Called on
/// the server's thread, one request at a time; an exception it throws becomes a 500 whose body
/// is the exception's message.
using StatusApi = std::function<std::optional<std::string>(std::string_view path)>;

/// The driver's status page: an HTTP/1.1 server on a thread of its own serving "/" (the page of
/// status_page.hpp) and "/api/..." (from `api`), and taking POST /api/... actions (from
/// `action`, same contract; only with an X-Spate-Action header, which another origin's page
/// cannot send). Every request needs the server's access token, and a loopback-bound server
/// answers only to a loopback Host (DNS rebinding); binding another address says so on stderr.
/// Otherwise GET and HEAD only; keep-alive; requests are
/// bounded in size and in the time they may take to arrive, so a slow or hostile client holds a
/// connection, never the server. Binds host:port; port 0 picks a free one; when the port is
/// taken it tries the next 16 ports (as Spark's UI does). Not copyable or movable; the api
/// function must stay callable until the destructor returns.
class StatusServer {
 public:
  /// Starts serving. Throws config_error naming --ui-port when the port and the next 16 are
  /// taken, or naming --ui-host when the host is not an address of this machine.
  StatusServer(const std::string& host, std::uint16_t port, StatusApi api, StatusApi action = {});
  /// Stops the thread and closes every connection; a request being answered is finished first.
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  /// The port bound.
  std::uint16_t port() const noexcept;
  /// "http://HOST:PORT/?token=TOKEN", with the host as given (an IPv6 address in brackets):
  /// the address that opens the page.
  std::string url() const;
  /// The random access token every request must carry (see status_server.cpp).
  const std::string& token() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::detail
