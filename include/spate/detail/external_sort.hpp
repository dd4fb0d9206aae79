// ExternalSorter: sorts a task's records within its memory budget. Records stay in memory while
// the budget allows; past it, each full buffer is sorted and written to a spill file as a run,
// and the runs are merged at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "spate/detail/big_allocator.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/memory_estimate.hpp"
#include "spate/detail/memory_pool.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"

namespace spate::detail {

/// Below this, a task keeps its records in memory even when the pool is exhausted: a floor that
/// keeps runs from becoming tiny when many tasks share a small budget.
inline constexpr std::uint64_t kMinSpillBytes = std::uint64_t{4} << 20;

/// Collects records of type R, then hands them out sorted by `before` (stable: records that
/// compare equal keep the order they were added in).
template <class R, class Before>
class ExternalSorter {
 public:
  ExternalSorter(TaskContext& tc, Before before) : tc_(tc), before_(std::move(before)), memory_(tc.blocks().memory()) {}

  /// Adds a copy of r.
  void add(const R& r) { add(R(r)); }
  /// Adds r.
  void add(R&& r) {
    bytes_ += footprint(r);
    buffer_.push_back(std::move(r));
    if ((buffer_.size() & 255) == 0) check_memory();
  }

  /// Calls f(R&&) for every record added, in order.
  template <class F>
  void drain(F&& f) {
    std::stable_sort(buffer_.begin(), buffer_.end(), before_);
    if (runs_.empty()) {
      for (auto& r : buffer_) f(std::move(r));
      return;
    }
    // A k-way merge of the file runs and the buffer (the latest records, so the last run); on
    // ties the earlier run goes first, which keeps the sort stable.
    std::vector<RunReader<R>> readers;
    for (const auto& [b, e] : runs_) readers.emplace_back(*file_, b, e);
    std::size_t k = readers.size() + 1, in_memory = 0;
    std::vector<std::optional<R>> head(k);
    auto advance = [&](std::size_t i) {
      if (i < readers.size()) {
        head[i] = readers[i].next();
      } else if (in_memory < buffer_.size()) {
        head[i].emplace(std::move(buffer_[in_memory++]));
      } else {
        head[i].reset();
      }
    };
    for (std::size_t i = 0; i < k; ++i) advance(i);
    for (;;) {
      std::size_t best = k;
      for (std::size_t i = 0; i < k; ++i)
        if (head[i] && (best == k || before_(*head[i], *head[best]))) best = i;
      if (best == k) break;
      f(std::move(*head[best]));
      advance(best);
    }
  }

 private:
  void check_memory() {
    // The buffer's next growth copies it into one twice its size: charge that now, so the
    // copy never lands over the budget.
    std::uint64_t need = bytes_ + (2 * buffer_.capacity() - buffer_.size()) * sizeof(R);
    if (memory_.cover(need) || need < kMinSpillBytes) return;
    if constexpr (is_serializable_v<R>) spill();
  }

  void spill() {
    std::stable_sort(buffer_.begin(), buffer_.end(), before_);
    if (!file_) file_ = std::make_unique<SpillFile>(tc_.blocks().spill_dir(), tc_.blocks().spill_compression());
    std::uint64_t begin = file_->size();
    RunWriter<R> w(*file_);
    for (const auto& r : buffer_) w.add(r);
    w.flush();
    runs_.emplace_back(begin, file_->size());
    tc_.add_counter("spill.bytes", file_->size() - begin);
    decltype(buffer_)().swap(buffer_);
    bytes_ = 0;
    memory_.reset();
  }

  TaskContext& tc_;
  Before before_;
  MemoryReservation memory_;
  std::vector<R, BigAllocator<R>> buffer_;  // may grow large: huge pages save page faults
  std::uint64_t bytes_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs_;
};

}  // namespace spate::detail
