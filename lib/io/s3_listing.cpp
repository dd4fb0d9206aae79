// list_s3_objects: an s3:// spec's objects as the input files of a text source.
#include "io/s3_listing.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>

#include "s3/s3_client.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

bool has_wildcard(std::string_view key) { return key.find_first_of("*?[") != std::string_view::npos; }

std::string_view base_name(std::string_view key) {
  auto slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

/// Hidden as Hadoop and Spark hide them: markers (_SUCCESS), temporaries, dot files.
bool hidden(std::string_view key) {
  std::string_view name = base_name(key);
  return name.empty() || name[0] == '_' || name[0] == '.';
}

InputFile input_of(const std::string& bucket, const S3Object& o) {
  std::string path = "s3://" + bucket + "/" + o.key;
  return InputFile{path, o.size, compression_for_path(o.key), std::nullopt, o.etag};
}

}  // namespace

std::vector<InputFile> list_s3_objects(S3Client& client, const std::string& spec, int page_keys) {
  S3Location loc = parse_s3_uri(spec);
  std::vector<InputFile> out;
  if (has_wildcard(loc.key)) {
    std::string prefix = loc.key.substr(0, loc.key.find_first_of("*?["));
    auto objects = client.list_all(loc.bucket, prefix, "", page_keys);
    for (const S3Object& o : objects) {
      if (hidden(o.key) || ::fnmatch(loc.key.c_str(), o.key.c_str(), FNM_PATHNAME) != 0) continue;
      out.push_back(input_of(loc.bucket, o));
    }
    if (out.empty()) {
      throw io_error(fmt::format(
          "input pattern '{}' matches no object ({} objects under s3://{}/{}, none matching)",
          spec, objects.size(), loc.bucket, prefix));
    }
    return out;
  }
  std::string prefix = loc.key;
  if (!prefix.empty() && prefix.back() != '/') {
    if (auto one = client.head(loc.bucket, loc.key)) {
      out.push_back(input_of(loc.bucket, *one));
      return out;
    }
    prefix += '/';
  }
  auto objects = client.list_all(loc.bucket, prefix, "/", page_keys);
  for (const S3Object& o : objects) {
    if (!hidden(o.key)) out.push_back(input_of(loc.bucket, o));
  }
  if (out.empty()) {
    throw io_error(fmt::format(
        "input path '{}' names no object: {} in bucket '{}' (prefix '{}')", spec,
        objects.empty() ? "there is nothing" : "there are only hidden objects ('_' or '.')",
        loc.bucket, prefix));
  }
  return out;
}

std::vector<InputFile> list_s3_objects(const std::string& spec) {
  S3Client client(S3Config::from_environment());
  return list_s3_objects(client, spec);
}

}  // namespace spate::detail
