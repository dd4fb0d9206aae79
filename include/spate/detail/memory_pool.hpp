// MemoryPool: the memory budget of one process that runs tasks, shared by its tasks' tables,
// groups, sort runs and cached partitions. A consumer reserves before it grows, and spills (or,
// for a cache, does not keep) what a reservation refuses.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace spate::detail {

/// Bytes reserved against a budget, from any thread.
class MemoryPool {
 public:
  explicit MemoryPool(std::uint64_t budget = ~std::uint64_t{0}) noexcept : budget_(budget) {}
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  /// Reserves `bytes` when they fit in what is left of the budget; returns whether they did.
  bool try_reserve(std::uint64_t bytes) noexcept {
    std::uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > budget_.load(std::memory_order_relaxed) || used > budget_.load(std::memory_order_relaxed) - bytes)
        return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  /// Gives back bytes reserved earlier.
  void release(std::uint64_t bytes) noexcept { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  /// Bytes reserved now.
  std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  /// The budget.
  std::uint64_t budget() const noexcept { return budget_.load(std::memory_order_relaxed); }
  /// Changes the budget (reservations already made stay).
  void set_budget(std::uint64_t bytes) noexcept { budget_.store(bytes, std::memory_order_relaxed); }

  /// Sets what frees memory held by others (idle blocks that can go to disk) when a reservation
  /// is refused; it is given the bytes wanted. Set once, before tasks run.
  void set_reclaimer(std::function<void(std::uint64_t)> reclaim) { reclaimer_ = std::move(reclaim); }
  /// Reserves `bytes`, asking the reclaimer to free memory first when they do not fit; returns
  /// whether they were reserved.
  bool reserve_or_reclaim(std::uint64_t bytes) {
    if (try_reserve(bytes)) return true;
    if (!reclaimer_) return false;
    {
      // One reclaim at a time: others wait for it, then find the memory it freed.
      std::lock_guard lock(reclaim_mutex_);
      if (try_reserve(bytes)) return true;
      std::uint64_t free = budget() > used() ? budget() - used() : 0;
      if (bytes > free) reclaimer_(bytes - free);
    }
    return try_reserve(bytes);
  }

 private:
  std::atomic<std::uint64_t> budget_;
  std::atomic<std::uint64_t> used_{0};
  std::function<void(std::uint64_t)> reclaimer_;
  std::mutex reclaim_mutex_;
};

/// One consumer's reservation: grows in steps, released whole when it ends or is reset.
class MemoryReservation {
 public:
  explicit MemoryReservation(MemoryPool& pool) noexcept : pool_(pool) {}
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() { reset(); }

  /// Makes the reservation at least `bytes`; false (and unchanged) when the pool refuses, even
  /// after idle blocks were moved to disk to make room.
  bool cover(std::uint64_t bytes) {
    if (bytes <= held_) return true;
    // Reserve ahead in steps, so that the shared counter is touched rarely.
    std::uint64_t want = bytes - held_ + kStep;
    if (!pool_.try_reserve(want)) {
      if (!pool_.reserve_or_reclaim(bytes - held_)) return false;
      want = bytes - held_;
    }
    held_ += want;
    return true;
  }
  /// Gives everything back.
  void reset() noexcept {
    pool_.release(held_);
    held_ = 0;
  }
  /// Gives back what is held past `bytes` (nothing when it holds no more than that).
  void shrink_to(std::uint64_t bytes) noexcept {
    if (held_ <= bytes) return;
    pool_.release(held_ - bytes);
    held_ = bytes;
  }
  /// Ends the reservation without giving anything back, returning the bytes it held: the caller
  /// now owns them and releases them to pool() itself. For memory that outlives its consumer
  /// (a cached partition handed to the block store), so that it is never free in between.
  std::uint64_t hand_over() noexcept {
    std::uint64_t bytes = held_;
    held_ = 0;
    return bytes;
  }
  std::uint64_t held() const noexcept { return held_; }
  /// The pool it reserves from.
  MemoryPool& pool() const noexcept { return pool_; }

 private:
  static constexpr std::uint64_t kStep = std::uint64_t{1} << 20;
  MemoryPool& pool_;
  std::uint64_t held_ = 0;
};

}  // namespace spate::detail
