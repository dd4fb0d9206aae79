// Tests of the status page server (lib/ui/status_server.hpp) over real loopback TCP with a fixed
// api function, of the page's document (lib/ui/status_page.hpp), and of the whole page in a real
// browser: headless Chromium loads the page of a local-cluster job and shows the stages and
// executors that /api/ reports.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/serialization/string.hpp>

#include "process_support.hpp"
#include "spate/error.hpp"
#include "test_support.hpp"
#include "ui/status_page.hpp"
#include "ui/status_server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using spate::detail::StatusServer;
using namespace std::chrono_literals;

constexpr auto kGenerous = 10s;  // every wait of the HTTP client; none should come close

// What a response said.
struct Reply {
  int status = 0;
  std::string content_type, cache_control, allow;
  std::optional<std::size_t> content_length;
  bool keep_alive = false;
  std::string body;
};

// A blocking HTTP/1.1 client over one connection to 127.0.0.1:port, carrying the server's access
// token. Every call gives up after kGenerous (closing the connection) and throws, so a broken
// server fails the test, never hangs it.
class Client {
 public:
  Client(std::uint16_t port, const std::string& token)
      : auth_("Host: 127.0.0.1:" + std::to_string(port) + "\r\nX-Spate-Token: " + token + "\r\n"), socket_(ioc_) {
    run([this, port]() -> asio::awaitable<void> {
      co_await socket_.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                     asio::use_awaitable);
    });
  }

  Reply get(const std::string& target) { return send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"); }

  // Sends `raw` (whole requests) and reads one response; `head`: the response has no body. Each
  // "Host: x" line becomes this server's Host and token lines; other requests go as written.
  Reply send(std::string raw, bool head = false) {
    for (std::size_t at; (at = raw.find("Host: x\r\n")) != std::string::npos;) raw.replace(at, 9, auth_);
    Reply out;
    run([&]() -> asio::awaitable<void> {
      co_await asio::async_write(socket_, asio::buffer(raw), asio::use_awaitable);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      parser.skip(head);
      co_await http::async_read(socket_, buffer_, parser, asio::use_awaitable);
      const auto& res = parser.get();
      out.status = static_cast<int>(res.result_int());
      out.content_type = std::string(res[http::field::content_type]);
      out.cache_control = std::string(res[http::field::cache_control]);
      out.allow = std::string(res[http::field::allow]);
      if (auto n = res[http::field::content_length]; !n.empty())
        out.content_length = std::stoul(std::string(n));
      out.keep_alive = res.keep_alive();
      out.body = res.body();
    });
    return out;
  }

  // Sends bytes without waiting for an answer.
  void write(const std::string& raw) {
    run([&]() -> asio::awaitable<void> {
      co_await asio::async_write(socket_, asio::buffer(raw), asio::use_awaitable);
    });
  }

  // True when the server closes the connection (end of stream or reset) within `limit`, any
  // bytes it sends first read and dropped.
  bool closed_within(std::chrono::milliseconds limit) {
    bool closed = false;
    auto reader = [&]() -> asio::awaitable<void> {
      std::array<char, 4096> chunk;
      for (;;) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(chunk),
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
          closed = ec != asio::error::operation_aborted;
          co_return;
        }
      }
    };
    try {
      run(reader, limit);
    } catch (const std::exception&) {
      return false;
    }
    return closed;
  }

 private:
  template <class Coroutine>
  void run(Coroutine coroutine, std::chrono::milliseconds limit = kGenerous) {
    auto done = asio::co_spawn(ioc_, std::move(coroutine), asio::use_future);
    ioc_.restart();
    ioc_.run_for(limit);
    if (done.wait_for(0s) != std::future_status::ready) {
      beast::error_code ignored;
      socket_.close(ignored);  // the pending operation ends with operation_aborted
      ioc_.restart();
      ioc_.run();
      throw std::runtime_error("the HTTP exchange timed out");
    }
    done.get();  // rethrows what failed
  }

  std::string auth_;  // the Host and X-Spate-Token lines
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// An api over fixed JSON that records the targets it was asked for.
struct FixedApi {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> asked = std::make_shared<std::vector<std::string>>();

  std::optional<std::string> operator()(std::string_view path) const {
    {
      std::lock_guard lock(*mutex);
      asked->emplace_back(path);
    }
    if (path == "/api/jobs") return R"([{"job":1,"description":"collect","status":"running"}])";
    if (path.starts_with("/api/stages")) return R"([{"stage":0,"status":"running"}])";
    if (path == "/api/boom") throw spate::error("the status model broke");
    return std::nullopt;
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(*mutex);
    return *asked;
  }
};

}  // namespace

TEST_CASE("the status server serves the page at / as HTML that is not cached",
          "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  CHECK(server.port() != 0);
  CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/?token=" + server.token());
  Client client(server.port(), server.token());
  auto page = client.get("/");
  CHECK(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.cache_control == "no-store");
  CHECK(page.body == spate::detail::status_page_html());
  CHECK(page.keep_alive);
  // HEAD: the length a GET would send, no body; the connection stays usable (no stray bytes).
  auto head = client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true);
  CHECK(head.status == 200);
  CHECK(head.content_length == spate::detail::status_page_html().size());
  CHECK(head.body.empty());
  CHECK(client.get("/index.html").body == page.body);
}

TEST_CASE("the status server answers /api/ from its api function as JSON, query included",
          "[ui][status_server]") {
  FixedApi api;
  StatusServer server("127.0.0.1", 0, api);
  Client client(server.port(), server.token());
  auto jobs = client.get("/api/jobs");
  CHECK(jobs.status == 200);
  CHECK(jobs.content_type == "application/json");
  CHECK(jobs.cache_control == "no-store");
  CHECK(jobs.body == *api("/api/jobs"));
  CHECK(client.get("/api/stages?job=2").status == 200);
  CHECK(client.get("/api/nothing-here").status == 404);  // the api said nullopt
  CHECK(client.get("/nothing-here").status == 404);      // never asked
  CHECK(client.get("/api").status == 404);
  auto asked = api.targets();
  CHECK(std::count(asked.begin(), asked.end(), "/api/stages?job=2") == 1);
  CHECK(std::count(asked.begin(), asked.end(), "/nothing-here") == 0);
}

TEST_CASE("the status server keeps a connection alive across many requests",
          "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  Client client(server.port(), server.token());
  for (int i = 0; i < 20; ++i) REQUIRE(client.get(i % 2 ? "/" : "/api/jobs").status == 200);
  // Two requests sent at once (pipelined) are answered in order.
  auto both = "GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\nGET /api/jobs HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(client.send(both).status == 404);
  CHECK(client.send("").status == 200);
}

TEST_CASE("the status server refuses methods other than GET and HEAD with 405 and goes on",
          "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  Client client(server.port(), server.token());
  for (std::string method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    auto reply =
        client.send(method + " /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    CHECK(reply.status == 405);
    CHECK(reply.allow == "GET, HEAD");
  }
  CHECK(client.get("/api/jobs").status == 200);
}

TEST_CASE(
    "an oversized request is refused with a 4xx and closed, and the server serves the next client",
    "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  auto refused = [&](const std::string& raw) {
    Client client(server.port(), server.token());
    try {
      auto reply = client.send(raw);
      CHECK(reply.status >= 400);
      CHECK(reply.status < 500);
      CHECK_FALSE(reply.keep_alive);
    } catch (const boost::system::system_error& e) {
      // Also a refusal: the server closed before the whole request was written or read.
      INFO(e.what());
      CHECK((e.code() == asio::error::connection_reset || e.code() == asio::error::broken_pipe ||
             e.code() == http::error::end_of_stream || e.code() == asio::error::eof));
    }
    CHECK(client.closed_within(5s));
  };
  SECTION("a 100 KiB header") {
    refused("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(100 * 1024, 'a') + "\r\n\r\n");
  }
  SECTION("a 100 KiB body") {
    refused("GET /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 102400\r\n\r\n" +
            std::string(100 * 1024, 'b'));
  }
  SECTION("garbage") { refused("\x16\x03\x01 not http at all\r\n\r\n"); }
  Client next(server.port(), server.token());
  CHECK(next.get("/api/jobs").status == 200);
}

TEST_CASE("a client that sends half a request holds only its own connection",
          "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 8; ++i) {
    slow.push_back(std::make_unique<Client>(server.port(), server.token()));
    slow.back()->write("GET /api/jobs HTTP/1.1\r\nHost: ");
  }
  Client other(server.port(), server.token());
  auto start = std::chrono::steady_clock::now();
  CHECK(other.get("/api/jobs").status == 200);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

TEST_CASE("an api function that throws gives a 500 with its message, and the server goes on",
          "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  Client client(server.port(), server.token());
  auto reply = client.get("/api/boom");
  CHECK(reply.status == 500);
  CHECK(reply.body.find("the status model broke") != std::string::npos);
  CHECK(client.get("/api/jobs").status == 200);
  Client other(server.port(), server.token());
  CHECK(other.get("/api/jobs").status == 200);
}

TEST_CASE("a status server bound beyond loopback says so on stderr, and still wants its token",
          "[ui][status_server]") {
  // Bound to every interface (nothing is sent anywhere; the test talks to it over loopback).
  spate_test::TempDir dir;
  const std::string log = dir.file("stderr");
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  int file = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(file >= 0);
  ::dup2(file, STDERR_FILENO);
  ::close(file);
  std::optional<StatusServer> server;
  try {
    server.emplace("0.0.0.0", 0, FixedApi{});
  } catch (...) {
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    throw;
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  CHECK_THAT(spate_test::read_file(log),
             Catch::Contains("the status page listens on 0.0.0.0 port " + std::to_string(server->port())) &&
                 Catch::Contains("which other hosts may reach"));
  // Any Host is accepted then (names of this host are many), but never a request without the token.
  Client client(server->port(), "wrong");
  CHECK(client.send("GET /api/jobs HTTP/1.1\r\nHost: somewhere:1\r\n\r\n").status == 403);
  Client right(server->port(), server->token());
  CHECK(right.send("GET /api/jobs HTTP/1.1\r\nHost: somewhere:1\r\nX-Spate-Token: " + server->token() +
                   "\r\n\r\n")
            .status == 200);
}

TEST_CASE("a status server asked for a taken port moves on to one of the next 16",
          "[ui][status_server]") {
  StatusServer first("127.0.0.1", 0, FixedApi{});
  StatusServer second("127.0.0.1", first.port(), FixedApi{});
  CHECK(second.port() != first.port());
  CHECK(second.port() > first.port());
  CHECK(second.port() <= first.port() + 16);
  Client client(second.port(), second.token());
  CHECK(client.get("/api/jobs").status == 200);
}

TEST_CASE("the status server answers only requests that carry its token", "[ui][status_server]") {
  StatusServer server("127.0.0.1", 0, FixedApi{});
  const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
  CHECK(server.token().size() == 32);
  CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/?token=" + server.token());
  Client client(server.port(), "not-the-token");
  for (std::string target : {"/", "/api/jobs"}) {
    auto refused = client.send("GET " + target + " HTTP/1.1\r\n" + host + "\r\n");
    CHECK(refused.status == 403);
    CHECK_THAT(refused.body, Catch::Contains("needs its access token"));
  }
  CHECK(client.send("GET /api/jobs HTTP/1.1\r\n" + host + "X-Spate-Token: wrong\r\n\r\n").status == 403);
  CHECK(client.send("GET /api/jobs?token=wrong HTTP/1.1\r\n" + host + "\r\n").status == 403);
  // In the address, the token opens the page and sets a cookie that later requests carry.
  std::string raw_reply;
  {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    std::string request = "GET /?token=" + server.token() + " HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    boost::system::error_code ec;
    std::array<char, 4096> chunk;
    for (std::size_t n; (n = socket.read_some(asio::buffer(chunk), ec)) > 0 && !ec;) raw_reply.append(chunk.data(), n);
  }
  CHECK(raw_reply.starts_with("HTTP/1.1 200"));
  const std::string cookie = "spate_token_" + std::to_string(server.port()) + "=" + server.token();
  CHECK_THAT(raw_reply, Catch::Contains("Set-Cookie: " + cookie + "; Path=/; HttpOnly; SameSite=Strict"));
  CHECK(client.send("GET /api/jobs HTTP/1.1\r\n" + host + "Cookie: a=b; " + cookie + "\r\n\r\n").status == 200);
  CHECK(client.send("GET /api/jobs HTTP/1.1\r\n" + host + "X-Spate-Token: " + server.token() + "\r\n\r\n").status ==
        200);
}

TEST_CASE("a loopback status server refuses a Host that is not a loopback address with its port",
          "[ui][status_server]") {
  // A page of another site whose DNS name now points at 127.0.0.1 sends its own name as Host.
  StatusServer server("127.0.0.1", 0, FixedApi{});
  Client client(server.port(), server.token());
  const std::string token = "X-Spate-Token: " + server.token() + "\r\n";
  const std::string port = std::to_string(server.port());
  for (std::string host : {"evil.example:" + port, std::string("127.0.0.1:1"), std::string("localhost")}) {
    INFO(host);
    auto refused = client.send("GET /api/jobs HTTP/1.1\r\nHost: " + host + "\r\n" + token + "\r\n");
    CHECK(refused.status == 403);
    CHECK_THAT(refused.body, Catch::Contains("answers only to its own address"));
  }
  for (std::string host : {"127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port})
    CHECK(client.send("GET /api/jobs HTTP/1.1\r\nHost: " + host + "\r\n" + token + "\r\n").status == 200);
}

TEST_CASE(
    "a status server whose port and the next 16 are all taken is a config_error naming --ui-port",
    "[ui][status_server]") {
  StatusServer first("127.0.0.1", 0, FixedApi{});
  if (first.port() > 65535 - 16) return;  // the retries would run past the last port
  // Each port is held by us, or by a socket that keeps the server from binding it too: the
  // holders bind as the server does (SO_REUSEADDR), so a port left in TIME_WAIT is not mistaken
  // for a taken one.
  asio::io_context ioc;
  std::vector<std::unique_ptr<tcp::acceptor>> holders;
  for (unsigned p = first.port() + 1u; p <= first.port() + 16u; ++p) {
    auto acceptor = std::make_unique<tcp::acceptor>(ioc);
    beast::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(p));
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(8, ec);
    if (!ec) holders.push_back(std::move(acceptor));
  }
  REQUIRE_THROWS_AS(StatusServer("127.0.0.1", first.port(), FixedApi{}), spate::config_error);
  REQUIRE_THROWS_WITH(StatusServer("127.0.0.1", first.port(), FixedApi{}),
                      Catch::Contains("--ui-port"));
}

TEST_CASE("destroying the status server closes its connections at once", "[ui][status_server]") {
  auto server = std::make_unique<StatusServer>("127.0.0.1", 0, FixedApi{});
  Client used(server->port(), server->token()), idle(server->port(), server->token()),
      half(server->port(), server->token());
  REQUIRE(used.get("/api/jobs").status == 200);
  half.write("GET / HTTP/1.1\r\n");
  auto start = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(used.closed_within(2s));
  CHECK(idle.closed_within(2s));
  CHECK(half.closed_within(2s));
}

TEST_CASE("the status page is one document that loads nothing from elsewhere",
          "[ui][status_page]") {
  std::string_view page = spate::detail::status_page_html();
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(page.find("://") == std::string_view::npos);  // no URL of another origin at all
  CHECK(page.find("<script src") == std::string_view::npos);
  CHECK(page.find("<link") == std::string_view::npos);
  CHECK(page.find("@import") == std::string_view::npos);
  CHECK(page.find("@font-face") == std::string_view::npos);
  for (std::string_view endpoint : {"api/app", "api/jobs", "api/stages", "api/executors", "/tasks"})
    CHECK(page.find(endpoint) != std::string_view::npos);
}

// ---- The page in a real browser -----------------------------------------------------------

namespace {

// Keeps a task busy until the file `gate` exists (or two minutes pass, so that a failed test
// cannot leave executors spinning), then keys its record. A named type with serialize(): a
// closure capturing a std::string is not trivially copyable and could not travel to executors.
struct WaitForGate {
  std::string gate;

  std::pair<int, long> operator()(int x) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!std::filesystem::exists(gate) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return {x % 4, 1L};
  }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& gate;
  }
};

// The port of an "http://HOST:PORT/?token=TOKEN" URL.
std::uint16_t port_of(const std::string& url) {
  auto colon = url.rfind(':');
  REQUIRE(colon != std::string::npos);
  return static_cast<std::uint16_t>(std::stoul(url.substr(colon + 1)));
}

// The token of such a URL.
std::string token_of(const std::string& url) {
  auto at = url.find("?token=");
  REQUIRE(at != std::string::npos);
  return url.substr(at + 7);
}

json::value get_json(const std::string& url, const std::string& target) {
  Client client(port_of(url), token_of(url));
  auto reply = client.get(target);
  INFO(target << ": " << reply.body);
  REQUIRE(reply.status == 200);
  return json::parse(reply.body);
}

// The first executable called one of `names` on PATH, or "".
std::string find_on_path(std::initializer_list<const char*> names) {
  const char* path = std::getenv("PATH");
  for (const char* name : names) {
    std::string_view dirs = path ? path : "/usr/bin:/bin";
    while (!dirs.empty()) {
      auto end = dirs.find(':');
      std::filesystem::path candidate = std::filesystem::path(dirs.substr(0, end)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      dirs = end == std::string_view::npos ? std::string_view{} : dirs.substr(end + 1);
    }
  }
  return {};
}

// Runs headless Chromium on `url` with `args`, stdout to `out`, within a minute.
int run_chromium(const std::string& chromium, const std::string& profile, const std::string& args,
                 const std::string& url, const std::string& out, const std::string& log) {
  std::string command = "timeout -k 5 60 '" + chromium +
                        "' --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
                        " --no-first-run --no-default-browser-check --user-data-dir='" +
                        profile + "' --virtual-time-budget=4000 " + args + " '" + url + "' >'" +
                        out + "' 2>>'" + log + "'";
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The value of attribute `name` in the start tag `tag`, or "".
std::string attribute(std::string_view tag, std::string_view name) {
  std::string key = " " + std::string(name) + "=\"";
  auto at = tag.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  return std::string(tag.substr(at, tag.find('"', at) - at));
}

// `dom` without its <script> elements: the page's script holds the row templates as text.
std::string without_scripts(std::string dom) {
  for (auto at = dom.find("<script"); at != std::string::npos; at = dom.find("<script", at)) {
    auto end = dom.find("</script>", at);
    dom.erase(at, end == std::string::npos ? std::string::npos : end + 9 - at);
  }
  return dom;
}

// The start tags in `dom` that begin with `prefix` (e.g. `<tr class="stage`).
std::vector<std::string_view> tags(std::string_view dom, std::string_view prefix) {
  std::vector<std::string_view> out;
  for (auto at = dom.find(prefix); at != std::string_view::npos; at = dom.find(prefix, at + 1))
    out.push_back(dom.substr(at, dom.find('>', at) - at));
  return out;
}

}  // namespace

TEST_CASE(
    "headless Chromium shows the stages and executors of a running local-cluster job as /api/ does",
    "[ui][browser]") {
  std::string chromium = find_on_path({"chromium", "chromium-browser"});
  if (chromium.empty()) {
    WARN(
        "skipped: Chromium is missing; install Debian's chromium package "
        "(apt-get install --no-install-recommends chromium, as scripts/setup does) to run this "
        "test");
    SUCCEED("skipped: no chromium or chromium-browser on PATH");
    return;
  }
  spate_test::TempDir dir;
  spate::Context ctx(spate::Options{.master = "local-cluster[2]", .ui_port = 0});
  std::string url = ctx.status_url();
  REQUIRE(url.starts_with("http://"));
  std::uint16_t port = port_of(url);

  // The job: 8 map tasks held at the gate, then a shuffle into a result stage.
  std::string gate = dir.file("release");
  std::vector<int> input(64);
  for (int i = 0; i < 64; ++i) input[i] = i;
  std::promise<std::vector<std::pair<int, long>>> result;
  auto outcome = result.get_future();
  struct Job {
    std::string gate;
    std::thread thread;
    ~Job() {  // releases the tasks however the test ends, so the Context can end too
      std::ofstream(gate).put('\n');
      if (thread.joinable()) thread.join();
    }
  } job{gate, std::thread([&] {
          try {
            result.set_value(ctx.parallelize(input, 8)
                                 .map(WaitForGate{gate})
                                 .reduce_by_key(std::plus<>{})
                                 .collect());
          } catch (...) {
            result.set_exception(std::current_exception());
          }
        })};

  auto statuses = [&] {
    std::map<std::int64_t, std::string> out;
    auto stages = get_json(url, "/api/stages");  // named: a range-for would not keep it alive
    for (const auto& s : stages.as_array())
      out[s.at("stage").as_int64()] = std::string(s.at("status").as_string());
    return out;
  };
  auto running = [](const std::map<std::int64_t, std::string>& stages) {
    for (const auto& [id, status] : stages)
      if (status == "running") return true;
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!running(statuses())) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(50ms);
  }
  auto before = statuses();

  std::string profile = dir.file("chromium-profile"), log = dir.file("chromium.log");
  std::string dom_file = dir.file("dom.html");
  int rc = run_chromium(chromium, profile, "--dump-dom", url, dom_file, log);
  INFO("chromium's stderr:\n" << spate_test::read_file(log));
  REQUIRE(rc == 0);
  auto after = statuses();
  auto executors = get_json(url, "/api/executors").as_array();
  std::string dom = without_scripts(spate_test::read_file(dom_file));
  INFO("the page's DOM:\n" << dom.substr(0, 20000));

  // Stages: the same ids as /api/ says, each with a status /api/ gave before or after the load.
  std::set<std::int64_t> api_ids, dom_ids, dag_ids;
  for (const auto& [id, status] : after) api_ids.insert(id);
  for (auto tag : tags(dom, "<tr class=\"stage")) {
    std::int64_t id = std::stoll(attribute(tag, "data-stage"));
    dom_ids.insert(id);
    std::string status = attribute(tag, "data-status");
    INFO("stage " << id << " shown as " << status);
    CHECK((status == before[id] || status == after[id]));
  }
  CHECK(dom_ids == api_ids);
  CHECK(dom_ids.size() >= 1);
  // The DAG of the newest (only) job has a box per stage of the job.
  for (auto tag : tags(dom, "<g class=\"dag-stage"))
    dag_ids.insert(std::stoll(attribute(tag, "data-stage")));
  CHECK(dag_ids == api_ids);

  // Executors: the same ids in the same states.
  std::map<std::string, std::string> api_executors, dom_executors;
  for (const auto& e : executors)
    api_executors[std::string(e.at("executor").as_string())] =
        std::string(e.at("state").as_string());
  for (auto tag : tags(dom, "<tr class=\"executor"))
    dom_executors[attribute(tag, "data-executor")] = attribute(tag, "data-state");
  CHECK(dom_executors == api_executors);
  CHECK(api_executors.size() >= 2);
  CHECK(dom.find(">local-cluster[2]<") != std::string::npos);  // the header's master

  // A screenshot in the build folder (the parent of the test binary's bin/), for a human to see.
  auto build_dir = std::filesystem::path(spate_test::self_exe()).parent_path().parent_path();
  auto png = build_dir / "status-page.png";
  std::filesystem::remove(png);
  CHECK(run_chromium(chromium, profile,
                     "--window-size=1400,1000 --screenshot='" + png.string() + "'", url,
                     dir.file("screenshot.out"), log) == 0);
  REQUIRE(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 10'000);
  CHECK(spate_test::read_file(png.string()).starts_with("\x89PNG"));

  // Released, the job completes with the right answer.
  std::ofstream(gate).put('\n');
  REQUIRE(outcome.wait_for(60s) == std::future_status::ready);
  long total = 0;
  for (const auto& [key, n] : outcome.get()) total += n;
  CHECK(total == 64);
}

TEST_CASE("the cancel action of the status page cancels a running job, and only with its header",
          "[ui][status_server]") {
  spate::Options o;
  o.master = "local[2]";
  o.ui_port = 0;
  o.progress = false;
  spate::Context ctx(o);
  std::vector<int> data(100000);
  auto job = ctx.parallelize(data, 4)
                 .map([](int x) {
                   std::this_thread::sleep_for(std::chrono::microseconds(200));
                   return x;
                 })
                 .count_async();
  Client client(port_of(ctx.status_url()), token_of(ctx.status_url()));
  std::string target = fmt::format("/api/jobs/{}/cancel", job.id());
  // A form another site's page could send, without the header: refused.
  auto refused = client.send("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(refused.status == 403);
  CHECK_FALSE(job.done());
  auto unknown = client.send("POST /api/jobs/999999/cancel HTTP/1.1\r\nHost: x\r\nX-Spate-Action: cancel\r\n"
                             "Content-Length: 0\r\n\r\n");
  CHECK(unknown.status == 200);
  CHECK(json::parse(unknown.body).at("cancelled") == false);
  auto done = client.send("POST " + target + " HTTP/1.1\r\nHost: x\r\nX-Spate-Action: cancel\r\n"
                          "Content-Length: 0\r\n\r\n");
  CHECK(done.status == 200);
  CHECK(json::parse(done.body).at("cancelled") == true);
  CHECK_THROWS_WITH(job.get(), Catch::Contains("cancelled from the status page"));
  CHECK(client.send("POST /api/nothing HTTP/1.1\r\nHost: x\r\nX-Spate-Action: cancel\r\nContent-Length: 0\r\n\r\n")
            .status == 404);
}
