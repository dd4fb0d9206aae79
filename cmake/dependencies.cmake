# Every dependency comes from Debian 12's packages (see scripts/setup).
find_package(Boost 1.81 EXACT REQUIRED COMPONENTS serialization json)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
