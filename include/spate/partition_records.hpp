// PartitionRecords<T>: the records of one partition as Dataset::map_partitions_with_index hands
// them to the user's function, read one at a time while the partition is being computed.
#pragma once

#include <iterator>
#include <utility>

#include "spate/detail/batch_cursor.hpp"

namespace spate {

/// A single-pass input range over a partition's records, as Spark's Iterator[T]: records are
/// computed in batches as the range is read, so a partition is never held whole. Iterate it
/// once; a record may be moved from. An error computing the records (a failed parse, a killed
/// task) is thrown from the begin() or increment that needed the record.
template <class T>
class PartitionRecords {
 public:
  using Refill = typename detail::BatchCursor<T>::Refill;
  using iterator = detail::BatchIterator<T, detail::BatchCursor<T>*>;

  /// Records from `refill`, which fills its (empty) argument with the next batch and returns
  /// false when there are no more.
  explicit PartitionRecords(Refill refill) : cursor_(std::move(refill)) {}
  PartitionRecords(const PartitionRecords&) = delete;
  PartitionRecords& operator=(const PartitionRecords&) = delete;

  /// Starts reading (computing the first batch).
  iterator begin() {
    cursor_.settle();
    return iterator(&cursor_);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  detail::BatchCursor<T> cursor_;
};

}  // namespace spate
