// Ways a task attempt can end that are not the task's fault: the executor running it was lost,
// or a shuffle block it reads could not be fetched. The scheduler re-runs such a task (after
// recomputing the missing map outputs) without counting it against the task's attempts.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "spate/error.hpp"

namespace spate::detail {

/// The attempt's executor was lost (or the attempt's result arrived from one already given up).
class task_lost : public error {
 public:
  task_lost(const std::string& what, std::string executor) : error(what), executor_(std::move(executor)) {}
  /// The executor that was lost ("" when unknown).
  const std::string& executor() const noexcept { return executor_; }

 private:
  std::string executor_;
};

/// A shuffle block the attempt reads could not be had: its map output is lost, or the executor
/// holding it did not answer.
class fetch_failure : public task_lost {
 public:
  fetch_failure(const std::string& what, int shuffle, std::size_t map, std::string executor)
      : task_lost(what, std::move(executor)), shuffle_(shuffle), map_(map) {}
  /// The shuffle whose map output is missing.
  int shuffle() const noexcept { return shuffle_; }
  /// The missing map partition.
  std::size_t map() const noexcept { return map_; }

 private:
  int shuffle_;
  std::size_t map_;
};

/// The attempt was told to stop: its job was cancelled, or another copy of it finished first.
class task_killed : public error {
 public:
  using error::error;
};

/// A copy of a slow task found no executor other than the one it must avoid: it never ran.
class task_not_launched : public task_lost {
 public:
  explicit task_not_launched(const std::string& what) : task_lost(what, "") {}
};

}  // namespace spate::detail
