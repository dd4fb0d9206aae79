// S3Config from the environment and ~/.aws/credentials, and s3:// addresses.
#include "s3/s3_config.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "spate/error.hpp"

namespace spate::detail {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

/// Reads key id, secret and token of profile from an AWS credentials file (INI); returns false
/// when the file or the profile is missing.
bool read_profile(const std::string& file, const std::string& profile, S3Config& c) {
  std::ifstream in(file);
  if (!in) return false;
  std::string line;
  bool in_profile = false, found = false;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = trim(std::string_view(t).substr(1, t.size() - 2)) == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string name = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    if (name == "aws_access_key_id") c.access_key_id = value;
    if (name == "aws_secret_access_key") c.secret_access_key = value;
    if (name == "aws_session_token") c.session_token = value;
  }
  return found;
}

}  // namespace

bool is_s3_uri(std::string_view path) noexcept { return path.starts_with("s3://"); }

S3Location parse_s3_uri(std::string_view uri) {
  if (!is_s3_uri(uri)) throw config_error(fmt::format("'{}' is not an s3:// address", uri));
  std::string_view rest = uri.substr(5);
  auto slash = rest.find('/');
  S3Location loc{std::string(rest.substr(0, slash)),
                 slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1))};
  if (loc.bucket.empty()) {
    throw config_error(fmt::format("'{}' names no bucket; write s3://BUCKET/KEY", uri));
  }
  return loc;
}

S3Config S3Config::from_environment() {
  S3Config c;
  c.access_key_id = env("AWS_ACCESS_KEY_ID");
  c.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  c.session_token = env("AWS_SESSION_TOKEN");
  std::string profile = env("AWS_PROFILE");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    c.session_token.clear();
    std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
    std::string name = profile.empty() ? "default" : profile;
    if (file.empty() || !read_profile(file, name, c) || c.access_key_id.empty() ||
        c.secret_access_key.empty()) {
      throw config_error(fmt::format(
          "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile "
          "'{}' aws_access_key_id and aws_secret_access_key in {}",
          name, file.empty() ? "~/.aws/credentials" : file));
    }
  }
  if (std::string r = env("AWS_REGION"); !r.empty()) {
    c.region = r;
  } else if (std::string d = env("AWS_DEFAULT_REGION"); !d.empty()) {
    c.region = d;
  }
  std::string url = env("AWS_ENDPOINT_URL");
  c.ca_bundle = env("AWS_CA_BUNDLE");
  if (url.empty()) {
    c.host = "s3." + c.region + ".amazonaws.com";
    return c;
  }
  auto sep = url.find("://");
  if (sep == std::string::npos || (url.substr(0, sep) != "http" && url.substr(0, sep) != "https")) {
    throw config_error(fmt::format(
        "AWS_ENDPOINT_URL '{}' is not an http:// or https:// URL (e.g. http://127.0.0.1:9000)",
        url));
  }
  c.scheme = url.substr(0, sep);
  std::string authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find('/'));
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    c.host = authority.substr(0, colon);
    c.port = authority.substr(colon + 1);
  } else {
    c.host = authority;
    c.port = c.scheme == "https" ? "443" : "80";
  }
  if (c.host.empty() || c.port.empty()) {
    throw config_error(fmt::format("AWS_ENDPOINT_URL '{}' names no host", url));
  }
  c.path_style = true;
  return c;
}

}  // namespace spate::detail
