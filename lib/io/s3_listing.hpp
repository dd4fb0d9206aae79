// Listing the S3 objects an s3:// input spec names. Internal; included as "io/s3_listing.hpp".
#pragma once

#include <string>
#include <vector>

#include "io/input_files.hpp"

namespace spate::detail {

class S3Client;

/// The objects spec names, as input files ("s3://bucket/key" paths with size and ETag), sorted
/// by key: s3://b/prefix/ (or s3://b/, or s3://b/name when no object is named so) lists the
/// objects directly under the prefix, not recursively, skipping names that start with '_' or
/// '.' as a local directory does; s3://b/key is that one object; a key with *, ? or [...] is a
/// glob(7) pattern whose '*' stays within one '/' level, matched against a listing of the
/// prefix before the first wildcard. Lists page by page (page_keys entries each). Throws
/// io_error naming the bucket and prefix when nothing is found, and the S3 client's errors
/// (missing bucket, wrong credentials, a server that is not S3) as they are.
std::vector<InputFile> list_s3_objects(S3Client& client, const std::string& spec,
                                       int page_keys = 1000);

/// As above, with a client configured from the environment (S3Config::from_environment).
std::vector<InputFile> list_s3_objects(const std::string& spec);

}  // namespace spate::detail
