// Which task attempt is running: for user functions that need to know (as Spark's TaskContext).
#pragma once

#include <cstddef>
#include <optional>

namespace spate {

/// Identity of a running task attempt.
struct TaskInfo {
  /// The stage the task belongs to.
  int stage = 0;
  /// The partition it computes.
  std::size_t partition = 0;
  /// Its attempt number, 1-based: greater than 1 when the task is being retried.
  int attempt = 1;
};

/// The task attempt running on this thread; nullopt outside tasks.
std::optional<TaskInfo> this_task() noexcept;

}  // namespace spate
