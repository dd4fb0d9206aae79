// TaskRunner: runs a stage's tasks on N threads with retries, and fails fast on a lost task.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace spate::detail {

/// Runs `count` independent tasks on up to `threads` threads. A task that throws is retried until
/// `max_attempts`; then no new task starts, running ones finish, and run() throws job_error built
/// by `describe_failure`. Called from inside a task (a nested job) it runs inline, so nothing
/// waits on a thread it occupies.
class TaskRunner {
 public:
  /// task(index, attempt) runs task `index` for the given 1-based attempt.
  using Task = std::function<void(std::size_t index, int attempt)>;

  /// With `inline_when_nested` false, tasks run on their own threads even when called from a
  /// task thread (the scheduler recomputing lost map outputs for a task, not a user's job).
  TaskRunner(std::size_t threads, int max_attempts, bool inline_when_nested = true)
      : threads_(threads), max_attempts_(max_attempts), inline_when_nested_(inline_when_nested) {}

  /// Runs tasks 0..count-1; `stage` and `partition_of` only label the error.
  void run(std::size_t count, const Task& task, int stage, const std::string& stage_name,
           const std::function<std::size_t(std::size_t)>& partition_of) const;

 private:
  std::size_t threads_;
  int max_attempts_;
  bool inline_when_nested_;
};

}  // namespace spate::detail
