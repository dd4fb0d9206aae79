// The default memory budget of a process that runs tasks: a share of the memory this host (or
// the container spate runs in) gives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace spate::detail {

/// The host's physical memory in bytes (0 when unknown).
std::uint64_t physical_memory() noexcept;

/// The memory limit of the cgroup `proc_self_cgroup` (the text of /proc/self/cgroup) names,
/// looked up under `cgroup_root` (/sys/fs/cgroup) for cgroup v2 and v1; 0 when there is none.
std::uint64_t cgroup_memory_limit(const std::filesystem::path& cgroup_root,
                                  std::string_view proc_self_cgroup) noexcept;

/// What this process may use: the physical memory or its cgroup's limit, whichever is less.
std::uint64_t available_memory() noexcept;

/// One eighth of available_memory(), kept within 256 MiB and 4 GiB, divided among `processes`
/// processes on this host (at least 64 MiB each): spate is a library inside other programs, so
/// its default leaves the host's memory to them, as Spark's 1 GiB executors do.
std::uint64_t default_memory_budget(std::size_t processes = 1) noexcept;

}  // namespace spate::detail
