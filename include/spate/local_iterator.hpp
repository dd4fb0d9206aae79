// LocalIterator<T>: what Dataset::to_local_iterator() returns, the records of a dataset in
// partition order with one partition at a time on the driver.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "spate/detail/batch_cursor.hpp"

namespace spate {

/// A single-pass range over the records of a dataset. Reaching a partition runs a job that
/// brings that partition (and only it) to the driver; a job failing throws from the increment
/// (or begin()) that needed it. Iterate it once; copies and iterators share the position.
template <class T>
class LocalIterator {
 public:
  /// Gets the records of one partition, running a job.
  using Fetch = std::function<std::vector<T>(std::size_t partition)>;
  using iterator = detail::BatchIterator<T, std::shared_ptr<detail::BatchCursor<T>>>;

  LocalIterator(Fetch fetch, std::size_t partitions)
      : cursor_(std::make_shared<detail::BatchCursor<T>>(
            [fetch = std::move(fetch), partitions, next = std::size_t{0}](std::vector<T>& batch) mutable {
              if (next >= partitions) return false;
              batch = fetch(next++);
              return true;
            })) {}

  /// Starts the iteration (fetching the first partition that has records).
  iterator begin() {
    cursor_->settle();
    return iterator(cursor_);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::shared_ptr<detail::BatchCursor<T>> cursor_;
};

}  // namespace spate
