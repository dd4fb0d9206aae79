// The status page server over Boost.Beast: one io_context on one thread, an accept loop, and a
// session per connection that reads a request, answers it, and reads the next (keep-alive).
//
// Bounds. A request's header and body are capped by the parser, and each request must arrive
// whole within kReadTimeout (which is also how long an idle keep-alive connection stays), so a
// client that trickles bytes, or sends a huge header, costs one connection for a few seconds and
// never blocks the others: everything is asynchronous on the one thread. kMaxConnections bounds
// what a client opening connections in a loop can make us hold.
//
// Refusals. A request over the limits gets its 4xx with "Connection: close", then the socket is
// shut for sending and the rest of what the client sent is read and dropped for a moment before
// closing: closing a socket with unread input makes the kernel send a reset, and the client would
// see "connection reset" in place of the answer.
//
// Access. Every request needs the server's random token: as `?token=` in the address printed at
// start (the answer then sets an HttpOnly, SameSite=Strict cookie, so the page's own requests
// carry it), as that cookie, or as an X-Spate-Token header. A server bound to loopback also
// answers only requests whose Host header names a loopback address with its port: a page of
// another site that rebinds its DNS name to 127.0.0.1 sends its own name, and is refused.
//
// Shutdown. The destructor stops the io_context and joins the thread; destroying the io_context
// then destroys the handlers still pending, which own the sessions, which close their sockets.
#include "ui/status_server.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdio>
#include <set>

#include "spate/error.hpp"
#include "ui/status_page.hpp"

namespace spate::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxBodyBytes = 8 * 1024;
constexpr std::chrono::seconds kReadTimeout{10};
constexpr std::chrono::seconds kWriteTimeout{30};
// How long, and how much, a refused client's remaining input is read and dropped before closing.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
constexpr std::size_t kMaxConnections = 128;
// Ports tried after the one asked for, when it is taken (Spark's spark.port.maxRetries).
constexpr unsigned kPortRetries = 16;

// What the page may load: only itself and its own origin's /api/, even if a bug let a stage name
// through unescaped.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

Response make_response(const Request& req, http::status status, std::string_view content_type,
                       std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "spate");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    res.content_length(body.size());  // the size a GET would send; no body
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

Response text_response(const Request& req, http::status status, std::string text) {
  return make_response(req, status, "text/plain; charset=utf-8", std::move(text) + "\n");
}

// Who may ask: the token, and the Host values a loopback-bound server accepts.
struct Access {
  std::string token;
  std::string cookie;              // "spate_token_PORT": one per server on a host
  std::set<std::string> hosts;     // empty: any Host (a server reachable from other hosts)

  // The value of `name` in the query string of `target`, or "".
  static std::string_view query_value(std::string_view target, std::string_view name) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
        return pair.substr(name.size() + 1);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    return {};
  }

  // The value of cookie `name` in the Cookie header, or "".
  static std::string_view cookie_value(const Request& req, std::string_view name) {
    auto it = req.find(http::field::cookie);
    if (it == req.end()) return {};
    std::string_view cookies = it->value();
    while (!cookies.empty()) {
      auto semi = cookies.find(';');
      std::string_view c = cookies.substr(0, semi);
      while (c.starts_with(' ')) c.remove_prefix(1);
      if (c.size() > name.size() && c.starts_with(name) && c[name.size()] == '=') return c.substr(name.size() + 1);
      if (semi == std::string_view::npos) break;
      cookies.remove_prefix(semi + 1);
    }
    return {};
  }

  bool matches(std::string_view given) const {
    return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
  }

  // True when the token came in the address: the answer sets the cookie.
  bool token_in_query(const Request& req) const { return matches(query_value(req.target(), "token")); }

  // The refusal of a request that may not be answered, or nullopt.
  std::optional<Response> refuse(const Request& req) const {
    if (!hosts.empty()) {
      std::string host(req[http::field::host]);
      if (!hosts.count(host))
        return text_response(req, http::status::forbidden,
                             fmt::format("this status page answers only to its own address, not to Host '{}'", host));
    }
    auto header = req.find("X-Spate-Token");
    if (token_in_query(req) || matches(cookie_value(req, cookie)) ||
        (header != req.end() && matches(header->value())))
      return std::nullopt;
    return text_response(req, http::status::forbidden,
                         "this status page needs its access token: open the address spate printed when "
                         "the job started (it ends in ?token=...), or ask the program's Context for "
                         "status_url()");
  }
};

// The answer to one well-formed request, once it may be answered.
Response serve(const Request& req, const StatusApi& api, const StatusApi& action) {
  std::string_view target = req.target();
  if (req.method() == http::verb::post && action && target.starts_with("/api/")) {
    // A page of another origin may send a plain form POST here, but not one with a header of
    // its own without a preflight, which this server never grants: only our page can act.
    if (req.find("X-Spate-Action") == req.end())
      return text_response(req, http::status::forbidden, "an action needs the X-Spate-Action header");
    try {
      if (auto body = action(target))
        return make_response(req, http::status::ok, "application/json", std::move(*body));
    } catch (const std::exception& e) {
      return text_response(req, http::status::internal_server_error, e.what());
    }
    return text_response(req, http::status::not_found, "no such action: " + std::string(target));
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = text_response(req, http::status::method_not_allowed,
                             "only GET and HEAD are served here, and POST to actions under /api/");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/" || path == "/index.html") {
    auto res = make_response(req, http::status::ok, "text/html; charset=utf-8",
                             std::string(status_page_html()));
    res.set("Content-Security-Policy", kPagePolicy);
    res.set("Referrer-Policy", "no-referrer");
    return res;
  }
  if (path.starts_with("/api/") && api) {
    try {
      if (auto body = api(target))
        return make_response(req, http::status::ok, "application/json", std::move(*body));
    } catch (const std::exception& e) {
      return text_response(req, http::status::internal_server_error, e.what());
    } catch (...) {
      return text_response(
          req, http::status::internal_server_error,
          "the status model failed with an exception that is not a std::exception");
    }
  }
  return text_response(req, http::status::not_found, "no such page: " + std::string(path));
}

// The answer to one well-formed request: a refusal, or what serve() says.
Response answer(const Request& req, const StatusApi& api, const StatusApi& action, const Access& access) {
  if (auto refused = access.refuse(req)) return std::move(*refused);
  Response res = serve(req, api, action);
  if (access.token_in_query(req))
    res.set(http::field::set_cookie,
            fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", access.cookie, access.token));
  return res;
}

// The status refusing a request the parser rejected with `ec`, or nullopt when the connection
// should just be closed (the client went away, timed out, or the socket failed).
std::optional<http::status> refusal(const beast::error_code& ec) {
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  if (ec == http::error::body_limit) return http::status::payload_too_large;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == beast::http::make_error_code(http::error::bad_method).category())
    return http::status::bad_request;
  return std::nullopt;
}

}  // namespace

struct StatusServer::Impl {
  // Declared before io_context: sessions destroyed with the io_context still count themselves out.
  StatusApi api;
  StatusApi action;
  Access access;
  std::size_t open_connections = 0;
  std::string host;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  std::uint16_t port = 0;
  std::jthread thread;

  void accept();
  void run();
};

namespace {

// One connection: reads requests one after another and answers each. Owned by the handler of
// its pending operation; lives on the server's one thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const StatusApi& api, const StatusApi& action, const Access& access,
          std::size_t& open_connections)
      : stream_(std::move(socket)), api_(api), action_(action), access_(access), open_connections_(open_connections) {
    ++open_connections_;
  }
  ~Session() { --open_connections_; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(const beast::error_code& ec) {
    if (!ec) {
      const Request& req = parser_->get();
      write(answer(req, api_, action_, access_));
      return;
    }
    auto status = refusal(ec);
    if (!status) return close();
    Request blank;
    blank.keep_alive(false);
    write(text_response(blank, *status, std::string(http::obsolete_reason(*status))));
  }

  void write(Response res) {
    response_ = std::move(res);
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(const beast::error_code& ec) {
    if (ec) return close();
    if (response_.keep_alive()) return read();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lingered_ = 0;
    linger();
  }

  // Reads and drops what the client still sends (see the file's comment), then closes.
  void linger() {
    stream_.expires_after(kLingerTimeout);
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kMaxLingerBytes) return self->close();
                              self->linger();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const StatusApi& api_;
  const StatusApi& action_;
  const Access& access_;
  std::size_t& open_connections_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::array<char, 4096> drain_{};
  std::size_t lingered_ = 0;
};

std::string listen_error(const std::string& host, std::uint16_t port, bool retried,
                         const beast::error_code& ec) {
  return fmt::format(
      "--ui-port: cannot serve the status page on {}:{}{}: {}; give another port with --ui-port "
      "(0 picks a free one), or turn the page off with --no-ui",
      host, port, retried ? fmt::format(" nor on the next {} ports", kPortRetries) : "",
      ec.message());
}

}  // namespace

void StatusServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, most likely: wait before trying again, or this loop would spin.
      accept_retry.expires_after(std::chrono::milliseconds(200));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    if (open_connections < kMaxConnections)
      std::make_shared<Session>(std::move(socket), api, action, access, open_connections)->start();
    accept();  // a refused socket closes as it goes out of scope
  });
}

void StatusServer::Impl::run() {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception&) {
      // A handler threw (out of memory, say): that connection is dropped, the server goes on.
      // run() may be called again without restart() after an exception.
    }
  }
}

StatusServer::StatusServer(const std::string& host, std::uint16_t port, StatusApi api, StatusApi action)
    : impl_(std::make_unique<Impl>()) {
  impl_->api = std::move(api);
  impl_->action = std::move(action);
  impl_->host = host;
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(host, "", ec);
    if (ec || results.empty())
      throw config_error(fmt::format("--ui-host: cannot serve the status page on host '{}': {}",
                                     host, ec ? ec.message() : "no address"));
    address = results.begin()->endpoint().address();
  }
  unsigned last = port == 0 ? 0u : std::min(65535u, port + kPortRetries);
  for (unsigned p = port;; ++p) {
    tcp::endpoint endpoint(address, static_cast<std::uint16_t>(p));
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    // SO_REUSEADDR lets a restarted driver bind while the old one's connections linger in
    // TIME_WAIT; on Linux it does not let two servers listen on one port.
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) break;
    beast::error_code ignored;
    acceptor.close(ignored);
    bool taken = ec == asio::error::address_in_use || ec == asio::error::access_denied;
    if (!taken)  // not this machine's address, most likely; another port would not help
      throw config_error(
          fmt::format("--ui-host, --ui-port: cannot serve the status page on {}:{}: {}", host, p,
                      ec.message()));
    if (p >= last) throw config_error(listen_error(host, port, p != port, ec));
  }
  impl_->port = impl_->acceptor.local_endpoint().port();
  Access& access = impl_->access;
  std::array<unsigned char, 16> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    throw error("the status page could not draw its access token from OpenSSL's RAND_bytes");
  for (unsigned char b : random) access.token += fmt::format("{:02x}", b);
  access.cookie = fmt::format("spate_token_{}", impl_->port);
  if (address.is_loopback()) {
    for (std::string name : {std::string("127.0.0.1"), std::string("localhost"), std::string("[::1]"),
                             host.find(':') == std::string::npos ? host : "[" + host + "]"})
      access.hosts.insert(fmt::format("{}:{}", name, impl_->port));
  } else {
    std::fprintf(stderr,
                 "spate: the status page listens on %s port %u, which other hosts may reach; it answers "
                 "only requests that carry its access token (see its address)\n",
                 host.c_str(), static_cast<unsigned>(impl_->port));
  }
  impl_->accept();
  impl_->thread = std::jthread([impl = impl_.get()] { impl->run(); });
}

StatusServer::~StatusServer() {
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t StatusServer::port() const noexcept { return impl_->port; }

std::string StatusServer::url() const {
  const std::string& h = impl_->host;
  return h.find(':') == std::string::npos
             ? fmt::format("http://{}:{}/?token={}", h, impl_->port, impl_->access.token)
             : fmt::format("http://[{}]:{}/?token={}", h, impl_->port, impl_->access.token);
}

const std::string& StatusServer::token() const noexcept { return impl_->access.token; }

}  // namespace spate::detail
