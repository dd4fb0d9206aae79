// The only test source that knows the build's absolute paths: the others compile to the same
// bytes in any clone, so a compiler cache serves them to every clone of the same commit.
#include "test_paths.hpp"

namespace spate_test {

const std::string& bin_dir() {
  static const std::string dir = SPATE_BIN_DIR;
  return dir;
}

const std::string& source_dir() {
  static const std::string dir = SPATE_SOURCE_DIR;
  return dir;
}

}  // namespace spate_test
