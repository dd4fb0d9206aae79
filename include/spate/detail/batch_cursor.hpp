// BatchCursor and BatchIterator: a single-pass walk over records that arrive in batches, shared
// by PartitionRecords (a partition computed while it is read) and LocalIterator (a dataset
// fetched to the driver a partition at a time).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <utility>
#include <vector>

namespace spate::detail {

/// The position in a run of batches; refills when the current batch is used up.
template <class T>
class BatchCursor {
 public:
  /// Fills `batch` (handed over empty) with the next records, maybe none; returns false when
  /// there are no more.
  using Refill = std::function<bool(std::vector<T>& batch)>;

  explicit BatchCursor(Refill refill) : refill_(std::move(refill)) {}

  /// The current record; valid while !done().
  T& current() noexcept { return batch_[at_]; }
  /// Moves to the next record, refilling as needed.
  void advance() {
    ++at_;
    settle();
  }
  /// Refills until the current record exists or the batches have ended.
  void settle() {
    while (at_ >= batch_.size() && !ended_) {
      at_ = 0;
      batch_.clear();
      ended_ = !refill_(batch_);
    }
  }
  /// True past the last record.
  bool done() const noexcept { return at_ >= batch_.size() && ended_; }

 private:
  Refill refill_;
  std::vector<T> batch_;
  std::size_t at_ = 0;
  bool ended_ = false;
};

/// An input iterator over a BatchCursor reached through `Handle` (a pointer or a shared_ptr).
template <class T, class Handle>
class BatchIterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;
  using reference = T&;
  using iterator_concept = std::input_iterator_tag;
  using iterator_category = std::input_iterator_tag;

  BatchIterator() = default;
  explicit BatchIterator(Handle cursor) : cursor_(std::move(cursor)) {}
  /// The current record; the caller may move from it.
  T& operator*() const { return cursor_->current(); }
  T* operator->() const { return &cursor_->current(); }
  BatchIterator& operator++() {
    cursor_->advance();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const BatchIterator& it, std::default_sentinel_t) { return it.cursor_->done(); }

 private:
  Handle cursor_{};
};

}  // namespace spate::detail
