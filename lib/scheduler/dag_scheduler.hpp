// DagScheduler: turns jobs into stages and submits each stage once its parents are done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/backend.hpp"
#include "scheduler/task_scheduler.hpp"
#include "spate/detail/job_control.hpp"

namespace spate::detail {

class ContextCleaner;
class DagJob;
class JobListener;
class NodeBase;

/// Per-thread settings a job takes from the thread that starts it (Spark's local properties).
struct JobProperties {
  /// Jobs of one group are cancelled together (Context::cancel_job_group); "" for none.
  std::string group;
  /// Shown for the job instead of its last operators, when set.
  std::string description;
  /// The FAIR pool its tasks share slots in.
  std::string pool = "default";
};

/// What the DAG scheduler needs of the engine besides backend and task scheduler.
struct DagSchedulerHooks {
  /// Keeps the counters and accumulator updates of a task copy that counted.
  std::function<void(const TaskUpdates&)> keep_updates;
  /// Tracks the shuffles and cached nodes jobs use, and frees them when nobody holds them.
  ContextCleaner* cleaner = nullptr;
};

/// The DAG scheduler of one engine. Thread-safe: jobs are submitted and cancelled from any
/// thread; all scheduling decisions are taken on its own event-loop thread.
class DagScheduler {
 public:
  DagScheduler(Backend& backend, TaskScheduler& tasks, JobListener& listeners, int max_stage_attempts,
               bool speculation, DagSchedulerHooks hooks);
  DagScheduler(const DagScheduler&) = delete;
  DagScheduler& operator=(const DagScheduler&) = delete;
  /// Cancels every running job, waits for them to end and stops the event loop.
  ~DagScheduler();

  /// Submits a job: `handler` runs on `partitions` of `node` (every partition when empty) once
  /// every missing map output it reads exists. `keep_alive` is held until the job has ended
  /// (the owner of `handler`, for jobs nobody waits for).
  std::shared_ptr<JobControl> submit(std::shared_ptr<NodeBase> node, ResultHandler& handler,
                                     std::vector<std::size_t> partitions, std::shared_ptr<void> keep_alive,
                                     JobProperties properties);
  /// Cancels every running job of `group`; returns how many.
  std::size_t cancel_group(const std::string& group, const std::string& reason);
  /// Cancels every running job; returns how many.
  std::size_t cancel_all(const std::string& reason);
  /// Cancels job `id` if it runs; returns false when no such job runs.
  bool cancel_job(std::uint64_t id, const std::string& reason);

 private:
  friend class DagJob;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace spate::detail
