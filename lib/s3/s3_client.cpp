// The S3 client, on Boost.Beast (HTTP/1.1, Asio's TLS for https) and OpenSSL (SigV4).
//
// Why not libs3: Debian 12's libs3-dev is libs3 2.0 (2011), which signs with Signature V2
// only ("Authorization: AWS key:signature") and has no ListObjectsV2; AWS regions opened since
// 2014 accept only V4, and V2 is deprecated everywhere. Its upstream added V4 years later, but
// Debian never packaged it. Beast is already a dependency (Boost 1.81), gives a parser that reads
// a body straight into the caller's buffer (no copy of an object's bytes beyond the socket's
// read buffer), and Asio's timers bound every network wait; SigV4 is a page of code over
// libcrypto, which spate links anyway. The cost is owning retry and error handling, which we
// want in spate's terms (messages naming bucket, key, status and S3's error code) regardless.
#include "s3/s3_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <openssl/x509_vfy.h>
#include <random>
#include <sstream>
#include <thread>

#include "s3/sigv4.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace pt = boost::property_tree;
using tcp = asio::ip::tcp;

namespace {

/// The SHA-256 of an empty body, which every bodiless request signs.
constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// S3 error answers and listings are small; anything bigger is not S3 talking.
constexpr std::size_t kMaxSmallBody = 16 << 20;

/// One request as the retry loop sees it.
struct Request {
  http::verb verb;
  const char* op;  // for messages: "GET", "LIST", "PUT", "UPLOAD PART", ...
  std::string bucket;
  std::string key;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // besides host, date, sha256
  std::string_view body;
};

/// An answer with its body read (unless a GET's body is left to stream).
struct Response {
  unsigned status = 0;
  std::string body;
  std::string etag;
  std::uint64_t content_length = 0;
};

/// S3's <Error><Code> and <Message>, or empty strings when the body is not S3's error XML.
std::pair<std::string, std::string> s3_error_of(const std::string& body) {
  if (body.find("<Error") == std::string::npos) return {};
  try {
    std::istringstream in(body);
    pt::ptree tree;
    pt::read_xml(in, tree);
    return {tree.get<std::string>("Error.Code", ""), tree.get<std::string>("Error.Message", "")};
  } catch (const std::exception&) {
    return {};
  }
}

/// The start of a body that is not S3's XML, printable, for messages.
std::string snippet(const std::string& body) {
  std::string out;
  for (char c : body.substr(0, 120)) out += (c >= 32 && c < 127) ? c : ' ';
  return out;
}

bool retryable(unsigned status, const std::string& code) {
  return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout" ||
         code == "InternalError";
}

}  // namespace

struct S3Client::Impl {
  explicit Impl(S3Config c) : cfg(std::move(c)), rng(std::random_device{}()) {
    if (cfg.scheme == "https") {
      ssl_ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      beast::error_code ec;
      if (cfg.ca_bundle.empty()) {
        ssl_ctx->set_default_verify_paths(ec);
      } else if (ssl_ctx->load_verify_file(cfg.ca_bundle, ec); ec) {
        throw config_error(fmt::format("AWS_CA_BUNDLE '{}' cannot be read as PEM certificates: {}",
                                       cfg.ca_bundle, ec.message()));
      }
      ssl_ctx->set_verify_mode(asio::ssl::verify_peer);
    }
  }

  S3Config cfg;
  asio::io_context ioc;
  std::unique_ptr<asio::ssl::context> ssl_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::string connected_host;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::mt19937 rng;

  // The GET being streamed: what to ask for again if the connection breaks mid-body.
  bool streaming = false;
  Request get;
  std::uint64_t get_next = 0;  // offset of the next body byte
  std::uint64_t get_end = 0;
  std::string get_etag;

  // ---- connection ----

  bool connected() const { return plain != nullptr || tls != nullptr; }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  /// Runs one asynchronous operation to its end, bounded by the I/O timeout.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    if (connected()) lowest().expires_after(cfg.io_timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  template <class F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }

  void close() {
    streaming = false;
    parser.reset();
    buffer.clear();
    if (connected()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().socket().close(ignored);
    }
    plain.reset();
    tls.reset();
    connected_host.clear();
  }

  std::string host_for(const std::string& bucket) const {
    return cfg.path_style || bucket.empty() ? cfg.host : bucket + "." + cfg.host;
  }

  /// Connects to host; returns what went wrong, or "".
  std::string connect(const std::string& host) {
    close();
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(host, cfg.port, ec);
    if (ec) return fmt::format("cannot resolve {}: {}", host, ec.message());
    if (ssl_ctx) {
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *ssl_ctx);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    ec = run([&](auto handler) { lowest().async_connect(endpoints, handler); });
    if (ec) {
      close();
      return fmt::format("cannot connect to {}:{}: {}", host, cfg.port, ec.message());
    }
    lowest().socket().set_option(tcp::no_delay(true), ec);
    if (tls) {
      if (!SSL_set_tlsext_host_name(tls->native_handle(), host.c_str())) {
        close();
        return fmt::format("cannot set TLS server name {}", host);
      }
      // OpenSSL's own check of the name (or the address, for an IP endpoint) leaves its verdict
      // in the verify result, where the error message below finds it.
      X509_VERIFY_PARAM* param = SSL_get0_param(tls->native_handle());
      asio::ip::make_address(host, ec);
      bool named = ec ? X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1
                      : X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
      if (!named) {
        close();
        return fmt::format("cannot set the TLS name to verify, {}", host);
      }
      ec = run([&](auto handler) { tls->async_handshake(asio::ssl::stream_base::client, handler); });
      if (ec) {
        long verify = SSL_get_verify_result(tls->native_handle());
        close();
        // An untrusted certificate stays untrusted: no retry, and a word on what to trust.
        if (verify != X509_V_OK)
          throw io_error(fmt::format(
              "TLS handshake with {}:{} failed: the server's certificate is not trusted ({}); "
              "set AWS_CA_BUNDLE to a PEM file of the authority that signed it{}",
              host, cfg.port, X509_verify_cert_error_string(verify),
              cfg.ca_bundle.empty() ? "" : fmt::format(" (now '{}')", cfg.ca_bundle)));
        return fmt::format("TLS handshake with {}:{} failed: {}", host, cfg.port, ec.message());
      }
    }
    connected_host = host;
    return "";
  }

  // ---- messages ----

  std::string what(const Request& r) const {
    return fmt::format("S3 {} of s3://{}/{} at {}", r.op, r.bucket, r.key, cfg.endpoint());
  }

  /// The error for an answer that is final and not a success.
  io_error failure(const Request& r, const Response& resp) const {
    auto [code, message] = s3_error_of(resp.body);
    std::string detail;
    if (!code.empty()) {
      detail = fmt::format("HTTP {} {}: {}", resp.status, code, message);
    } else if (resp.body.empty()) {
      detail = fmt::format("HTTP {}", resp.status);
    } else {
      detail = fmt::format("HTTP {}, and the answer is not S3's XML (it starts '{}'); is {} an S3 "
                           "endpoint?",
                           resp.status, snippet(resp.body), cfg.endpoint());
    }
    std::string hint;
    if (code == "NoSuchBucket" || (resp.status == 404 && r.key.empty())) {
      hint = fmt::format("; bucket '{}' does not exist", r.bucket);
    } else if (code == "NoSuchKey" || (resp.status == 404 && r.verb == http::verb::head)) {
      hint = fmt::format("; key '{}' does not exist in bucket '{}'", r.key, r.bucket);
    } else if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
               resp.status == 403) {
      hint = "; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (or the AWS_PROFILE profile) and "
             "AWS_REGION";
    } else if (code == "PreconditionFailed" || resp.status == 412) {
      hint = fmt::format("; the object changed since the job was planned (its ETag is no longer "
                         "{})",
                         get_etag);
    }
    return io_error(what(r) + " failed: " + detail + hint);
  }

  // ---- requests ----

  /// Signs and sends r, reads the answer's header, and (unless a successful GET is to be
  /// streamed) its body; retries what S3 says to retry. Throws io_error when the last attempt
  /// broke; returns any answer that is final, successful or not.
  Response execute(const Request& r, bool stream_success = false) {
    std::string body_sha = r.body.empty() ? kEmptySha256 : sha256_hex(r.body);
    for (int attempt = 1;; ++attempt) {
      std::string broke;  // what went wrong with the connection, if anything
      Response resp;
      std::string host = host_for(r.bucket);
      if (!connected() || connected_host != host) broke = connect(host);
      if (broke.empty()) broke = send(r, host, body_sha, resp, stream_success);
      if (broke.empty()) {
        auto [code, message] = s3_error_of(resp.body);
        if (!retryable(resp.status, code) || attempt >= cfg.max_attempts) return resp;
      } else {
        close();
        if (attempt >= cfg.max_attempts) {
          throw io_error(fmt::format("{} failed after {} attempts: {}", what(r), attempt, broke));
        }
      }
      backoff(attempt);
    }
  }

  void backoff(int attempt) {
    auto base = cfg.first_backoff * (1 << std::min(attempt - 1, 10));
    std::uniform_int_distribution<long> jitter(0, base.count() / 2);
    std::this_thread::sleep_for(base + std::chrono::milliseconds(jitter(rng)));
  }

  /// One attempt; returns "" or what broke.
  std::string send(const Request& r, const std::string& host, const std::string& body_sha,
                   Response& resp, bool stream_success) {
    std::string host_header = host;
    if (!((cfg.scheme == "http" && cfg.port == "80") || (cfg.scheme == "https" && cfg.port == "443")))
      host_header += ":" + cfg.port;
    std::string date = amz_date_now();
    SigV4Request sig = s3_sigv4_request(
        S3RequestParts{std::string(http::to_string(r.verb)), r.bucket, r.key, cfg.path_style, r.query, r.headers},
        host_header, date, body_sha, cfg.session_token);
    SigV4Key key{cfg.access_key_id, cfg.secret_access_key, cfg.region, "s3"};

    std::string target = sig.path;
    if (std::string q = canonical_query(r.query); !q.empty()) target += "?" + q;
    http::request<http::span_body<const char>> req{r.verb, target, 11};
    for (const auto& [name, value] : sig.headers) req.set(name, value);
    req.set(http::field::authorization, sigv4_authorization(sig, key, date));
    req.set(http::field::user_agent, "spate");
    req.body() = http::span_body<const char>::value_type(r.body.data(), r.body.size());
    req.prepare_payload();
    if (r.verb == http::verb::put || r.verb == http::verb::post)
      req.content_length(r.body.size());

    beast::error_code ec;
    ec = run([&](auto handler) { with_stream([&](auto& s) { http::async_write(s, req, handler); }); });
    if (ec) return fmt::format("sending the request: {}", ec.message());

    parser.emplace();
    parser->body_limit(boost::none);
    if (r.verb == http::verb::head) parser->skip(true);
    ec = run([&](auto handler) {
      with_stream([&](auto& s) { http::async_read_header(s, buffer, *parser, handler); });
    });
    if (ec) return fmt::format("reading the answer: {}", ec.message());
    resp.status = parser->get().result_int();
    if (auto it = parser->get().find(http::field::etag); it != parser->get().end())
      resp.etag = std::string(it->value());
    if (auto length = parser->content_length()) resp.content_length = *length;
    if (stream_success && (resp.status == 200 || resp.status == 206)) return "";
    std::string broke = read_small_body(resp.body);
    if (!broke.empty()) return broke;
    if (!parser->get().keep_alive()) close();
    parser.reset();
    return "";
  }

  /// Reads the rest of the answer into body; returns "" or what broke.
  std::string read_small_body(std::string& body) {
    char chunk[16 << 10];
    while (!parser->is_done()) {
      parser->get().body().data = chunk;
      parser->get().body().size = sizeof chunk;
      beast::error_code ec = run([&](auto handler) {
        with_stream([&](auto& s) { http::async_read_some(s, buffer, *parser, handler); });
      });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return fmt::format("reading the answer's body: {}", ec.message());
      body.append(chunk, sizeof chunk - parser->get().body().size);
      if (body.size() > kMaxSmallBody) return "the answer's body is too long for S3";
    }
    return "";
  }

  /// Throws the request's error unless the answer has one of the expected statuses.
  Response expect(const Request& r, std::initializer_list<unsigned> ok) {
    Response resp = execute(r);
    if (std::find(ok.begin(), ok.end(), resp.status) == ok.end()) throw failure(r, resp);
    // CompleteMultipartUpload may answer 200 and put an error in the body.
    if (auto [code, message] = s3_error_of(resp.body); resp.status == 200 && !code.empty()) {
      throw io_error(fmt::format("{} failed: HTTP {} {}: {}", what(r), resp.status, code, message));
    }
    return resp;
  }

  /// Parses an XML answer, or throws saying the endpoint did not answer like S3.
  pt::ptree xml(const Request& r, const Response& resp, const char* root) {
    try {
      std::istringstream in(resp.body);
      pt::ptree tree;
      pt::read_xml(in, tree);
      if (tree.get_child_optional(root)) return tree;
    } catch (const std::exception&) {
    }
    throw io_error(fmt::format("{}: HTTP {} but not S3's {} XML (the answer starts '{}'); is {} an "
                               "S3 endpoint?",
                               what(r), resp.status, root, snippet(resp.body), cfg.endpoint()));
  }

  // ---- streamed GET ----

  void start_get_at(std::uint64_t begin) {
    Request r = get;
    r.headers.clear();
    r.headers.emplace_back("range", fmt::format("bytes={}-{}", begin, get_end - 1));
    if (!get_etag.empty()) r.headers.emplace_back("if-match", get_etag);
    Response resp = execute(r, /*stream_success=*/true);
    if (resp.status != 200 && resp.status != 206) throw failure(r, resp);
    // Servers that ignore If-Match (some compatible stores do) still name the version they send.
    if (!get_etag.empty() && !resp.etag.empty() && resp.etag != get_etag) {
      close();
      throw io_error(fmt::format("{} failed: the object changed since the job was planned: its "
                                 "ETag was {} and is now {}",
                                 what(r), get_etag, resp.etag));
    }
    if (resp.status == 200 && begin != 0) {
      close();
      throw io_error(fmt::format("{} failed: the server ignored the byte range {}-{} (HTTP 200)",
                                 what(r), begin, get_end - 1));
    }
    get_next = begin;
    streaming = true;
  }
};

S3Client::S3Client(S3Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
S3Client::~S3Client() { impl_->close(); }
const S3Config& S3Client::config() const noexcept { return impl_->cfg; }

S3ListPage S3Client::list_page(const std::string& bucket, const std::string& prefix,
                               const std::string& delimiter, const std::string& token,
                               int max_keys) {
  Request r{http::verb::get, "LIST", bucket, "", {}, {}, {}};
  r.query = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(max_keys)}};
  if (!delimiter.empty()) r.query.emplace_back("delimiter", delimiter);
  if (!token.empty()) r.query.emplace_back("continuation-token", token);
  Response resp = impl_->expect(r, {200});
  r.key = prefix;  // for messages about the listing itself
  pt::ptree tree = impl_->xml(r, resp, "ListBucketResult");
  S3ListPage page;
  for (const auto& [name, child] : tree.get_child("ListBucketResult")) {
    if (name == "Contents") {
      page.objects.push_back(S3Object{child.get<std::string>("Key", ""),
                                      child.get<std::uint64_t>("Size", 0),
                                      child.get<std::string>("ETag", "")});
    } else if (name == "CommonPrefixes") {
      page.common_prefixes.push_back(child.get<std::string>("Prefix", ""));
    }
  }
  if (tree.get<std::string>("ListBucketResult.IsTruncated", "false") == "true") {
    page.next_token = tree.get<std::string>("ListBucketResult.NextContinuationToken", "");
    if (page.next_token.empty()) {
      throw io_error(fmt::format("{}: a truncated listing without NextContinuationToken",
                                 impl_->what(r)));
    }
  }
  return page;
}

std::vector<S3Object> S3Client::list_all(const std::string& bucket, const std::string& prefix,
                                         const std::string& delimiter, int max_keys) {
  std::vector<S3Object> all;
  std::string token;
  do {
    S3ListPage page = list_page(bucket, prefix, delimiter, token, max_keys);
    for (auto& o : page.objects) all.push_back(std::move(o));
    token = std::move(page.next_token);
  } while (!token.empty());
  std::sort(all.begin(), all.end(), [](const S3Object& a, const S3Object& b) { return a.key < b.key; });
  return all;
}

std::optional<S3Object> S3Client::head(const std::string& bucket, const std::string& key) {
  Request r{http::verb::head, "HEAD", bucket, key, {}, {}, {}};
  Response resp = impl_->execute(r);
  if (resp.status == 404) return std::nullopt;
  if (resp.status != 200) throw impl_->failure(r, resp);
  if (resp.etag.empty()) {
    throw io_error(fmt::format("{}: HTTP 200 without an ETag, which S3 always sends; is {} an S3 "
                               "endpoint?",
                               impl_->what(r), impl_->cfg.endpoint()));
  }
  return S3Object{key, resp.content_length, resp.etag};
}

void S3Client::start_get(const std::string& bucket, const std::string& key, std::uint64_t begin,
                         std::uint64_t end, const std::string& etag) {
  if (impl_->streaming && impl_->parser && !impl_->parser->is_done()) {
    impl_->close();  // abandons a GET still streaming: its connection has unread bytes
  }
  impl_->streaming = false;
  impl_->parser.reset();
  impl_->get = Request{http::verb::get, "GET", bucket, key, {}, {}, {}};
  impl_->get_end = end;
  impl_->get_etag = etag;
  if (begin >= end) {
    impl_->get_next = end;
    return;
  }
  impl_->start_get_at(begin);
}

std::size_t S3Client::read_body(char* dst, std::size_t max) {
  Impl& m = *impl_;
  for (int broken = 0;;) {
    if (m.get_next >= m.get_end) {
      // The range is read; a server that sent more (a 200 for a range) loses its connection.
      if (m.streaming && !m.parser->is_done()) m.close();
      if (m.streaming && m.parser && !m.parser->get().keep_alive()) m.close();
      m.streaming = false;
      m.parser.reset();
      return 0;
    }
    if (!m.streaming) m.start_get_at(m.get_next);
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(max, m.get_end - m.get_next));
    std::string broke;
    if (m.parser->is_done()) {
      broke = fmt::format("the answer ended after byte {} of {}-{}", m.get_next, 0, m.get_end - 1);
    } else {
      auto& body = m.parser->get().body();
      body.data = dst;
      body.size = want;
      beast::error_code ec = m.run([&](auto handler) {
        m.with_stream([&](auto& s) { http::async_read_some(s, m.buffer, *m.parser, handler); });
      });
      if (ec == http::error::need_buffer) ec = {};
      std::size_t n = want - body.size;
      if (!ec) {
        m.get_next += n;
        if (n > 0) return n;
        continue;
      }
      m.get_next += n;
      if (n > 0) {
        m.close();  // the bytes we got are good; ask again for the rest on the next call
        return n;
      }
      broke = ec.message();
    }
    m.close();
    if (++broken >= m.cfg.max_attempts) {
      throw io_error(fmt::format("{} failed: the connection broke at byte {} ({}), {} times in a row",
                                 m.what(m.get), m.get_next, broke, broken));
    }
    m.backoff(broken);
  }
}

void S3Client::put(const std::string& bucket, const std::string& key, std::string_view body) {
  impl_->expect(Request{http::verb::put, "PUT", bucket, key, {}, {}, body}, {200});
}

void S3Client::remove(const std::string& bucket, const std::string& key) {
  impl_->expect(Request{http::verb::delete_, "DELETE", bucket, key, {}, {}, {}}, {200, 204, 404});
}

std::string S3Client::create_multipart(const std::string& bucket, const std::string& key) {
  Request r{http::verb::post, "CREATE MULTIPART UPLOAD", bucket, key, {{"uploads", ""}}, {}, {}};
  Response resp = impl_->expect(r, {200});
  std::string id = impl_->xml(r, resp, "InitiateMultipartUploadResult")
                       .get<std::string>("InitiateMultipartUploadResult.UploadId", "");
  if (id.empty()) throw io_error(impl_->what(r) + " failed: the answer has no UploadId");
  return id;
}

std::string S3Client::upload_part(const std::string& bucket, const std::string& key,
                                  const std::string& upload_id, int number, std::string_view body) {
  Request r{http::verb::put, "UPLOAD PART", bucket, key,
            {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}}, {}, body};
  Response resp = impl_->expect(r, {200});
  if (resp.etag.empty()) throw io_error(impl_->what(r) + " failed: the answer has no ETag");
  return resp.etag;
}

void S3Client::complete_multipart(const std::string& bucket, const std::string& key,
                                  const std::string& upload_id,
                                  const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i)
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, etags[i]);
  xml += "</CompleteMultipartUpload>";
  Request r{http::verb::post, "COMPLETE MULTIPART UPLOAD", bucket, key, {{"uploadId", upload_id}},
            {{"content-type", "application/xml"}}, xml};
  impl_->expect(r, {200});
}

void S3Client::abort_multipart(const std::string& bucket, const std::string& key,
                               const std::string& upload_id) {
  Request r{http::verb::delete_, "ABORT MULTIPART UPLOAD", bucket, key, {{"uploadId", upload_id}},
            {}, {}};
  // 404: already gone. 405/501: a store without the call (s3rver); the upload stays invisible
  // until the store expires it, which is all an abort promises a reader.
  impl_->expect(r, {200, 204, 404, 405, 501});
}

}  // namespace spate::detail
