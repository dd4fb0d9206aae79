// S3 over https against a real s3rver serving TLS with a certificate from a test authority made
// here with the openssl tool: jobs read and write through it when AWS_CA_BUNDLE trusts the
// authority, and fail at once, saying what to trust, when the certificate is not trusted or
// names another host.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <spate/spate.hpp>

#include <string>
#include <vector>

#include "s3/s3_client.hpp"
#include "s3_test_server.hpp"
#include "test_support.hpp"

using spate::detail::S3Client;
using spate::detail::S3Config;
using spate_test::S3TestEnv;
using spate_test::S3TestServer;
using Catch::Matchers::Contains;
using namespace spate_test;
using namespace std::chrono_literals;

namespace {

/// Runs a shell command; the test fails with its output when it fails.
void run_ok(const std::string& command) {
  auto r = run_captured(command);
  INFO(command << "\n" << r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

/// A certificate authority and, signed by it, certificates for the names asked for.
class TestAuthority {
 public:
  explicit TestAuthority(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    run_ok(fmt::format("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=spate test CA' "
                       "-keyout '{0}/ca.key' -out '{0}/ca.pem'",
                       dir_.string()));
  }
  fs::path ca() const { return dir_ / "ca.pem"; }

  /// A server certificate for `alt_names` (e.g. "IP:127.0.0.1,DNS:localhost"), named `name`.
  TlsFiles issue(const std::string& name, const std::string& alt_names) const {
    std::string d = dir_.string();
    write_file((dir_ / (name + ".ext")).string(), "subjectAltName=" + alt_names + "\n");
    run_ok(fmt::format("openssl req -newkey rsa:2048 -nodes -subj '/CN={1}' -keyout '{0}/{1}.key' "
                       "-out '{0}/{1}.csr'",
                       d, name));
    run_ok(fmt::format("openssl x509 -req -days 2 -in '{0}/{1}.csr' -CA '{0}/ca.pem' -CAkey '{0}/ca.key' "
                       "-CAcreateserial -extfile '{0}/{1}.ext' -out '{0}/{1}.pem'",
                       d, name));
    return TlsFiles{dir_ / (name + ".pem"), dir_ / (name + ".key")};
  }

 private:
  fs::path dir_;
};

bool openssl_available() { return run_captured("command -v openssl").exit_code == 0; }

#define SPATE_REQUIRE_OPENSSL()                                                       \
  if (!openssl_available()) {                                                         \
    WARN("skipped: the openssl tool is not installed; run scripts/setup --test");    \
    return;                                                                           \
  }

}  // namespace

TEST_CASE("jobs read and write s3:// over https when AWS_CA_BUNDLE trusts the server", "[s3][s3_tls]") {
  SPATE_REQUIRE_S3RVER();
  SPATE_REQUIRE_OPENSSL();
  TempDir tmp;
  TestAuthority authority(tmp.str());
  S3TestServer server({"secure"}, authority.issue("server", "IP:127.0.0.1,DNS:localhost"));
  S3TestEnv env(server.endpoint());
  ScopedEnv ca("AWS_CA_BUNDLE", authority.ca().string());
  REQUIRE(server.endpoint().starts_with("https://"));

  std::vector<std::string> lines;
  for (int i = 0; i < 20'000; ++i) lines.push_back(fmt::format("line {}", i));
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    INFO("master " << master);
    std::string out = fmt::format("s3://secure/{}/", std::string_view(master).find("cluster") == std::string_view::npos ? "local" : "cluster");
    spate::Context ctx(spate::Options{.master = master});
    ctx.parallelize(lines, 4).save_as_text_file(out);
    CHECK(ctx.text_file(out).collect() == lines);
  }
}

TEST_CASE("an https endpoint whose certificate is not trusted fails at once, saying what to trust",
          "[s3][s3_tls]") {
  SPATE_REQUIRE_S3RVER();
  SPATE_REQUIRE_OPENSSL();
  TempDir tmp;
  TestAuthority authority(tmp.str());
  TestAuthority stranger(tmp.file("stranger"));
  S3TestServer server({"secure"}, authority.issue("server", "IP:127.0.0.1"));
  S3TestEnv env(server.endpoint());
  ScopedEnv ca("AWS_CA_BUNDLE", stranger.ca().string());
  S3Config config = S3Config::from_environment();
  config.first_backoff = std::chrono::milliseconds(2'000);  // a retry would show in the time taken
  S3Client client(config);
  auto start = std::chrono::steady_clock::now();
  REQUIRE_THROWS_WITH(client.list_all("secure", "", ""),
                      Contains("127.0.0.1") && Contains("not trusted") && Contains("AWS_CA_BUNDLE") &&
                          Contains(stranger.ca().string()));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2'000));
}

TEST_CASE("an https endpoint whose certificate names another host is refused", "[s3][s3_tls]") {
  SPATE_REQUIRE_S3RVER();
  SPATE_REQUIRE_OPENSSL();
  TempDir tmp;
  TestAuthority authority(tmp.str());
  S3TestServer server({"secure"}, authority.issue("elsewhere", "DNS:elsewhere.example"));
  S3TestEnv env(server.endpoint());
  ScopedEnv ca("AWS_CA_BUNDLE", authority.ca().string());
  spate::Context ctx(spate::Options{.master = "local[2]"});
  REQUIRE_THROWS_WITH(ctx.text_file("s3://secure/").collect(),
                      Contains("127.0.0.1") && Contains("not trusted") && Contains("mismatch"));
}

TEST_CASE("AWS_CA_BUNDLE naming a file that is not PEM certificates is a configuration error",
          "[s3][s3_tls]") {
  TempDir tmp;
  write_file(tmp.file("junk.pem"), "not a certificate\n");
  S3TestEnv env("https://127.0.0.1:1");
  ScopedEnv ca("AWS_CA_BUNDLE", tmp.file("junk.pem"));
  REQUIRE_THROWS_AS(S3Client(S3Config::from_environment()), spate::config_error);
  REQUIRE_THROWS_WITH(S3Client(S3Config::from_environment()),
                      Contains("AWS_CA_BUNDLE") && Contains("junk.pem"));
}
