// The fingerprint of this process's executable: what makes a driver refuse a different build.
#pragma once

#include <string>

namespace spate::detail {

/// "build-id:<hex>" (the linker's build id of this executable) or, when it has none,
/// "sha256:<hex>" of /proc/self/exe; computed once per process; throws io_error if unreadable.
const std::string& executable_fingerprint();

/// The path of this process's executable.
std::string executable_path();

}  // namespace spate::detail
