#include "storage/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>

namespace spate::detail {

std::uint64_t physical_memory() noexcept {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::uint64_t default_memory_budget(std::size_t processes) noexcept {
  std::uint64_t phys = physical_memory();
  if (phys == 0) phys = std::uint64_t{4} << 30;  // a guess that keeps caching useful
  return std::max<std::uint64_t>(std::uint64_t{64} << 20, phys / 2 / std::max<std::size_t>(1, processes));
}

}  // namespace spate::detail
