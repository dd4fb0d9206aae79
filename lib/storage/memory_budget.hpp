// The default memory budget of a process that runs tasks: a share of the host's physical memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spate::detail {

/// The host's physical memory in bytes (0 when unknown).
std::uint64_t physical_memory() noexcept;

/// Half the physical memory, divided among `processes` processes on this host (at least 64 MiB).
std::uint64_t default_memory_budget(std::size_t processes = 1) noexcept;

}  // namespace spate::detail
