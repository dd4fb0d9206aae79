// spate-s3-fault-proxy: a misbehaving S3 endpoint for the fault tests, a real TCP server on a
// loopback port that forwards to a real S3 server (s3rver) and breaks in one chosen way:
//   --mode fail-first:N     answer the first N requests with HTTP 500 InternalError, then forward
//   --mode cut-body:B:N     forward, but cut the connection after B body bytes of the first N
//                           answers to GETs of a byte range
//   --mode not-s3           answer every request 200 with an HTML page, as a web server would
// Usage: spate-s3-fault-proxy --upstream-port P --mode M. Prints the port it listens on, then
// serves until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

namespace {

int g_upstream_port = 0;
std::string g_mode;
long g_limit = 0;       // fail-first: N; cut-body: N
long g_cut_bytes = 0;   // cut-body: B
std::atomic<long> g_count{0};

bool send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// The value of header name (lower case) in an HTTP head, or "".
std::string header(const std::string& head, const std::string& name) {
  std::string l = lower(head);
  auto at = l.find("\r\n" + name + ":");
  if (at == std::string::npos) return "";
  auto start = at + 2 + name.size() + 1;
  auto end = head.find("\r\n", start);
  std::string v = head.substr(start, end - start);
  v.erase(0, v.find_first_not_of(' '));
  return v;
}

/// Reads one request (head and Content-Length body) from fd into head and body, using and
/// keeping extra bytes in pending; false at the end of the connection.
bool read_request(int fd, std::string& pending, std::string& head, std::string& body) {
  char buf[65536];
  std::size_t end;
  while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  head = pending.substr(0, end + 4);
  pending.erase(0, end + 4);
  std::string cl = header(head, "content-length");
  std::size_t length = cl.empty() ? 0 : std::stoul(cl);
  while (pending.size() < length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  body = pending.substr(0, length);
  pending.erase(0, length);
  return true;
}

/// Sends the request upstream with "Connection: close" and returns all it answered.
std::string forward(const std::string& head, const std::string& body) {
  int up = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(g_upstream_port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(up);
    return "";
  }
  // Drop any Connection header and ask the upstream to close after its answer, so that its
  // end is the end of the connection whatever its framing.
  std::string h = head.substr(0, head.size() - 2);
  std::string l = lower(h);
  if (auto at = l.find("\r\nconnection:"); at != std::string::npos) {
    h.erase(at, h.find("\r\n", at + 2) - at);
  }
  h += "Connection: close\r\n\r\n";
  send_all(up, h + body);
  std::string answer;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(up, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(up);
  return answer;
}

void serve(int fd) {
  std::string pending, head, body;
  while (read_request(fd, pending, head, body)) {
    if (g_mode == "not-s3") {
      std::string page = "<html><body><h1>It works!</h1></body></html>\n";
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                       std::to_string(page.size()) + "\r\n\r\n" +
                       (head.rfind("HEAD ", 0) == 0 ? std::string() : page));
      continue;
    }
    if (g_mode == "fail-first" && g_count.fetch_add(1) < g_limit) {
      std::string xml =
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
          "<Message>We encountered an internal error. Please try again.</Message></Error>";
      // An answer to HEAD has the headers of the answer to GET, and no body.
      bool head_request = head.rfind("HEAD ", 0) == 0;
      send_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                   "Content-Length: " + std::to_string(xml.size()) + "\r\n\r\n" +
                       (head_request ? std::string() : xml));
      continue;
    }
    std::string answer = forward(head, body);
    if (answer.empty()) break;
    bool ranged_get = head.rfind("GET ", 0) == 0 && !header(head, "range").empty();
    if (g_mode == "cut-body" && ranged_get && g_count.fetch_add(1) < g_limit) {
      auto head_end = answer.find("\r\n\r\n");
      std::size_t keep = head_end == std::string::npos ? answer.size() : head_end + 4;
      keep = std::min(answer.size(), keep + static_cast<std::size_t>(g_cut_bytes));
      send_all(fd, answer.substr(0, keep));
      break;  // the cut: close mid-body
    }
    send_all(fd, answer);
    // The upstream closed after its answer, and said so: so does the client's connection.
    break;
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--upstream-port") g_upstream_port = std::stoi(value);
    if (flag == "--mode") g_mode = value;
  }
  auto colon = g_mode.find(':');
  if (colon != std::string::npos) {
    std::string args = g_mode.substr(colon + 1);
    g_mode = g_mode.substr(0, colon);
    auto second = args.find(':');
    if (g_mode == "cut-body" && second != std::string::npos) {
      g_cut_bytes = std::stol(args.substr(0, second));
      g_limit = std::stol(args.substr(second + 1));
    } else {
      g_limit = std::stol(args);
    }
  }
  if (g_mode != "not-s3" && g_mode != "fail-first" && g_mode != "cut-body") {
    std::cerr << "usage: spate-s3-fault-proxy --upstream-port P --mode "
                 "fail-first:N|cut-body:BYTES:N|not-s3\n";
    return 2;
  }
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener, 64) != 0) {
    std::perror("spate-s3-fault-proxy: bind");
    return 1;
  }
  socklen_t len = sizeof a;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  std::printf("%d\n", ntohs(a.sin_port));
  std::fflush(stdout);
  for (;;) {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    std::thread(serve, fd).detach();
  }
}
