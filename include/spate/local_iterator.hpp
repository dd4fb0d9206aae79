// LocalIterator<T>: what Dataset::to_local_iterator() returns, the records of a dataset in
// partition order with one partition at a time on the driver.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

namespace spate {

/// A single-pass range over the records of a dataset. Reaching a partition runs a job that
/// brings that partition (and only it) to the driver; a job failing throws from the increment
/// (or begin()) that needed it. Iterate it once.
template <class T>
class LocalIterator {
 public:
  /// Gets the records of one partition, running a job.
  using Fetch = std::function<std::vector<T>(std::size_t partition)>;

 private:
  struct State {
    Fetch fetch;
    std::size_t partitions;
    std::size_t next = 0;  // the next partition to fetch
    std::vector<T> records;
    std::size_t at = 0;  // the current record in records

    bool done() const noexcept { return at >= records.size() && next >= partitions; }
    // Fetches partitions until the current record exists or there are no more.
    void settle() {
      while (at >= records.size() && next < partitions) {
        records = fetch(next++);
        at = 0;
      }
    }
  };

 public:
  LocalIterator(Fetch fetch, std::size_t partitions)
      : state_(std::make_shared<State>(State{std::move(fetch), partitions})) {}

  class iterator {
   public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = T&;
    using iterator_category = std::input_iterator_tag;

    iterator() = default;
    /// The current record; the caller may move from it.
    T& operator*() const { return state_->records[state_->at]; }
    T* operator->() const { return &state_->records[state_->at]; }
    iterator& operator++() {
      ++state_->at;
      state_->settle();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.state_->done(); }

   private:
    friend class LocalIterator;
    explicit iterator(std::shared_ptr<State> s) : state_(std::move(s)) {}
    std::shared_ptr<State> state_;
  };

  /// Starts the iteration (fetching the first partition that has records).
  iterator begin() {
    state_->settle();
    return iterator(state_);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace spate
