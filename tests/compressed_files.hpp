// Writing gzip and zstd files for the reader tests.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <string>

#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace spate_test {

/// Writes content gzip-compressed to path.
inline void write_gzip(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!content.empty()) REQUIRE(gzwrite(f, content.data(), static_cast<unsigned>(content.size())) > 0);
  REQUIRE(gzclose(f) == Z_OK);
}

/// Writes content zstd-compressed to path.
inline void write_zstd(const std::string& path, const std::string& content) {
  std::string out(ZSTD_compressBound(content.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3);
  REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  write_file(path, out);
}

}  // namespace spate_test
