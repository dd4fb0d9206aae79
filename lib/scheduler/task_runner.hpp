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

  TaskRunner(std::size_t threads, int max_attempts) : threads_(threads), max_attempts_(max_attempts) {}

  /// Runs tasks 0..count-1; `stage` and `partition_of` only label the error.
  void run(std::size_t count, const Task& task, int stage, const std::string& stage_name,
           const std::function<std::size_t(std::size_t)>& partition_of) const;

 private:
  std::size_t threads_;
  int max_attempts_;
};

}  // namespace spate::detail
