// TaskScheduler: runs the tasks of every submitted task set on the backend's slots.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/backend.hpp"

namespace spate::detail {

class JobListener;

/// How a partition left a task set, as the DAG scheduler hears it (once per partition).
enum class PartitionEnd {
  succeeded,     // its first successful copy; its updates are kept
  fetch_failed,  // it could not read a map output: the set runs nothing more
  dropped,       // it never finished: the set was cancelled, or stopped after a fetch failure
};

/// The map output a task could not read.
struct FetchMiss {
  int shuffle = -1;
  std::size_t map = 0;
  std::string executor;
  std::string message;
};

/// One submission of a stage's tasks, as the DAG scheduler hands it over.
struct TaskSetSpec {
  /// The job on whose behalf it runs: FIFO order runs lower jobs first, and listeners see it.
  std::uint64_t job = 0;
  int stage = 0;
  /// The shuffle its tasks write; -1 for a result stage.
  int shuffle = -1;
  /// The FAIR pool it belongs to ("default" unless the job's thread chose another).
  std::string pool = "default";
  /// For error messages: "shuffle 3 <- map <- text_file".
  std::string name;
  /// The partitions to run, once each.
  std::vector<std::size_t> partitions;
  /// What every attempt of the set shares (stage, shipped bytes, shuffles read, cached nodes).
  TaskSpec base;
  /// Runs one attempt; the spec it gets is `base` with partition, attempt, task id, kill flag
  /// and the executor to avoid filled in. Throws as Backend::run_map does.
  std::function<TaskUpdates(const TaskSpec&)> launch;
  /// Called, outside any scheduler lock, for the first successful copy of a partition before
  /// it counts as finished (e.g. to load a result); a throw fails that copy.
  std::function<void(std::size_t partition, TaskUpdates&)> accept;
  /// May the set run copies of slow tasks on other executors (--speculation)?
  bool speculatable = false;

  /// Called on task threads, outside any scheduler lock, once per partition.
  std::function<void(std::size_t partition, PartitionEnd how, const FetchMiss* miss)> on_partition_ended;
  /// A task failed more often than allowed (or on bad input): the set stops and runs nothing more.
  std::function<void(std::exception_ptr error)> on_aborted;
  /// Nothing of the set runs any more and nothing will: called once, last.
  std::function<void()> on_drained;
};

/// Settings of the task scheduler.
struct TaskSchedulerConfig {
  int max_task_attempts = 4;
  /// FAIR: pools share the slots in proportion (weight 1 each); FIFO: the oldest job first.
  bool fair = false;
  /// Run copies of slow tasks (Spark's rules: after `speculation_quantile` of a set's tasks
  /// finished, a task running `speculation_multiplier` times their median gets a copy).
  bool speculation = false;
  double speculation_quantile = 0.75;
  double speculation_multiplier = 1.5;
  std::chrono::milliseconds speculation_min{100};
};

/// Runs the tasks of every task set on the backend's slots, in one queue: whichever set comes
/// first by the scheduling policy gets the next free slot. Retries failed tasks, re-runs lost
/// ones, kills copies that are no longer needed, and tells the DAG scheduler, through each set's
/// callbacks, how each partition ended. Thread-safe.
class TaskScheduler {
 public:
  TaskScheduler(Backend& backend, JobListener& listeners, TaskSchedulerConfig config,
                std::function<void(TaskAttempt)> record);
  TaskScheduler(const TaskScheduler&) = delete;
  TaskScheduler& operator=(const TaskScheduler&) = delete;
  /// Kills what runs and joins the task threads.
  ~TaskScheduler();

  /// Queues a set's tasks; returns its id.
  std::uint64_t submit(TaskSetSpec spec);
  /// Stops a set: its queued tasks are dropped, its running ones killed. Idempotent.
  void cancel(std::uint64_t set);
  /// A thread about to wait for a job while it holds a task slot (a job started inside a task)
  /// lends the slot for the wait: another task thread may run meanwhile.
  void lend_slot();
  /// Takes the lent slot back.
  void return_slot();
  /// True when this thread is one of the task threads.
  static bool on_task_thread() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::detail
