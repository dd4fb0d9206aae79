// BigAllocator: the allocator of spate's in-task hash tables. Arrays of a megabyte or more come
// straight from the kernel, aligned to and advised for transparent huge pages; smaller ones from
// operator new.
//
// Why: a table that grows to millions of entries is allocated afresh at every doubling, and on
// first touch every 4 KiB page of it costs a page fault. In a virtual machine a fault costs
// microseconds: counting 30 M words spent a fifth of its time in faults on table arrays. A huge
// page takes one fault per 2 MiB. Where the kernel has huge pages off, nothing is lost.
#pragma once

#include <cstddef>
#include <new>

namespace spate::detail {

/// Arrays at least this large are mapped for huge pages.
inline constexpr std::size_t kBigAllocationBytes = std::size_t{1} << 20;

/// Maps `bytes` (>= kBigAllocationBytes) of zeroed memory advised for huge pages; throws
/// std::bad_alloc when the kernel refuses.
void* map_big(std::size_t bytes);
/// Unmaps what map_big(bytes) returned.
void unmap_big(void* p, std::size_t bytes) noexcept;

/// A std::allocator that maps large arrays for huge pages (see above); stateless, so all compare equal.
template <class T>
struct BigAllocator {
  using value_type = T;

  BigAllocator() noexcept = default;
  template <class U>
  BigAllocator(const BigAllocator<U>&) noexcept {}  // NOLINT: rebinding converts implicitly

  /// Room for n objects of T.
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kBigAllocationBytes && alignof(T) <= 4096) return static_cast<T*>(map_big(bytes));
    return static_cast<T*>(::operator new(bytes, std::align_val_t{alignof(T)}));
  }
  /// Frees what allocate(n) returned.
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kBigAllocationBytes && alignof(T) <= 4096) {
      unmap_big(p, bytes);
    } else {
      // Unsized: clang before 17 does not declare sized delete unless asked to.
      ::operator delete(p, std::align_val_t{alignof(T)});
    }
  }

  template <class U>
  bool operator==(const BigAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace spate::detail
