// The executor: what a process of the user's binary becomes when started with --executor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace spate::detail {

/// How an executor was started.
struct ExecutorOptions {
  std::string driver_url;  // spate://HOST:PORT
  std::string id;          // empty: host:pid
  std::size_t cores = 1;   // tasks run at once
  std::string host;        // address advertised for block fetches; empty: the one facing the driver
  std::uint64_t memory = 0;  // bytes of cached partitions it may hold; 0: half the physical memory
};

/// Registers with the driver and serves its tasks until the driver goes away, then ends the
/// process. Never returns.
[[noreturn]] void run_executor(const ExecutorOptions& options);

/// Splits "spate://HOST:PORT"; throws config_error naming the URL when it is malformed.
std::pair<std::string, std::uint16_t> parse_spate_url(const std::string& url);

}  // namespace spate::detail
