# Every dependency comes from Debian 12's packages (see scripts/setup).
set(Boost_NO_WARN_NEW_VERSIONS ON)  # FindBoost of CMake 3.25 predates Boost 1.81
find_package(Boost 1.81 EXACT REQUIRED COMPONENTS serialization json program_options)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS SSL Crypto)
find_package(Threads REQUIRED)
find_package(simdjson REQUIRED)  # read_json_lines; Debian 12 has 3.0
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
