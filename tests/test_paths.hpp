// Where the tests find the programs built beside them and the repository's own files.
#pragma once

#include <string>

namespace spate_test {

/// The directory the build puts its programs in (build/bin), as configured.
const std::string& bin_dir();

/// The repository's root directory.
const std::string& source_dir();

}  // namespace spate_test
