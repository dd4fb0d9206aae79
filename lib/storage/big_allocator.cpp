// Huge-page mappings for big in-task arrays (include/spate/detail/big_allocator.hpp).
#include "spate/detail/big_allocator.hpp"

#include <cstdint>

#include <sys/mman.h>

namespace spate::detail {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

void* map_big(std::size_t bytes) {
  // A huge page needs a 2 MiB aligned range: map one huge page more than needed and give back
  // the unaligned head and the tail.
  const std::size_t size = round_up(bytes, kHugePage);
  const std::size_t span = size + kHugePage;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t aligned = round_up(base, kHugePage);
  if (aligned > base) ::munmap(p, aligned - base);
  const std::uintptr_t end = aligned + size;
  if (base + span > end) ::munmap(reinterpret_cast<void*>(end), base + span - end);
#ifdef MADV_HUGEPAGE
  ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
  return reinterpret_cast<void*>(aligned);
}

void unmap_big(void* p, std::size_t bytes) noexcept { ::munmap(p, round_up(bytes, kHugePage)); }

}  // namespace spate::detail
