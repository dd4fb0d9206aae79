// What the scheduler tells whoever watches it: jobs, stages, tasks and executors as they start
// and end. Internal; included as "events/job_events.hpp". The event log, the progress line and
// the status page are listeners; docs/event-log.md is the written form of these events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/engine.hpp"

namespace spate::detail {

/// Milliseconds since the Unix epoch.
std::int64_t now_ms() noexcept;

/// A stage as planned when its job starts (it may never run: its shuffle may exist already).
struct StagePlan {
  int stage = 0;
  /// The shuffle a map stage writes; -1 for the job's result stage.
  int shuffle = -1;
  std::string name;
  std::size_t partitions = 0;
  std::vector<int> parents;
};

/// A job the scheduler started, with every stage of its DAG.
struct JobStarted {
  std::uint64_t job = 0;
  std::string description;
  std::size_t partitions = 0;
  std::int64_t time = 0;
  std::vector<StagePlan> stages;
};

/// A stage submitted for some of its partitions.
struct StageSubmitted {
  std::uint64_t job = 0;
  int stage = 0;
  /// The shuffle a map stage writes; -1 for a job's result stage.
  int shuffle = -1;
  std::string name;
  std::size_t tasks = 0;
  std::size_t partitions = 0;
  std::vector<int> parents;
  /// 1 for the stage's first submission in the job; more when lost outputs are recomputed.
  int attempt = 1;
  std::int64_t time = 0;
};

/// A task attempt handed to the process that runs it.
struct TaskStarted {
  std::uint64_t job = 0;
  int stage = 0;
  std::size_t partition = 0;
  int attempt = 1;
  std::string executor;
  std::int64_t time = 0;
};

/// A task attempt that ended, with the counters it added to (those of a successful attempt only).
struct TaskEnded {
  TaskAttempt attempt;
  std::int64_t time = 0;
  std::int64_t duration_ms = 0;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  /// The value of a named counter (0 when the attempt did not add to it).
  std::uint64_t counter(std::string_view name) const noexcept {
    for (const auto& [k, v] : counters)
      if (k == name) return v;
    return 0;
  }
  /// Records read from input files and shuffles.
  std::uint64_t records_in() const noexcept { return counter("input.records") + counter("shuffle.read.records"); }
  /// Bytes read from input files and shuffles.
  std::uint64_t bytes_in() const noexcept { return counter("input.bytes") + counter("shuffle.read.bytes"); }
  /// Records written to shuffles and output files.
  std::uint64_t records_out() const noexcept {
    return counter("shuffle.write.records") + counter("output.records");
  }
  /// Bytes written to shuffles and output files.
  std::uint64_t bytes_out() const noexcept { return counter("shuffle.write.bytes") + counter("output.bytes"); }
};

/// A submission of a stage that ended: all its tasks succeeded, or the job gave up on it.
struct StageCompleted {
  std::uint64_t job = 0;
  int stage = 0;
  int attempt = 1;
  std::int64_t time = 0;
  std::int64_t duration_ms = 0;
  bool succeeded = true;
  std::string message;
};

/// A job that ended.
struct JobEnded {
  std::uint64_t job = 0;
  std::int64_t time = 0;
  std::int64_t duration_ms = 0;
  bool succeeded = true;
  std::string error;
};

/// An executor that registered.
struct ExecutorAdded {
  ExecutorInfo info;
  std::int64_t time = 0;
};

/// An executor taken for lost.
struct ExecutorLost {
  std::string executor;
  std::string reason;
  std::int64_t time = 0;
};

/// Watches the scheduler. Calls come from the scheduler's and the transport's threads, possibly
/// at once, and sometimes with a scheduler lock held: a listener takes its own lock, returns
/// quickly and never calls back into the engine.
class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void on_job_started(const JobStarted&) {}
  virtual void on_stage_submitted(const StageSubmitted&) {}
  virtual void on_task_started(const TaskStarted&) {}
  virtual void on_task_ended(const TaskEnded&) {}
  virtual void on_stage_completed(const StageCompleted&) {}
  virtual void on_job_ended(const JobEnded&) {}
  virtual void on_executor_added(const ExecutorAdded&) {}
  virtual void on_executor_lost(const ExecutorLost&) {}
};

/// Hands every event to each of its listeners, in the order they were added.
class ListenerBus final : public JobListener {
 public:
  /// Adds a listener; call before events flow (the list is not guarded).
  void add(std::shared_ptr<JobListener> l) { listeners_.push_back(std::move(l)); }
  void on_job_started(const JobStarted& e) override { each(&JobListener::on_job_started, e); }
  void on_stage_submitted(const StageSubmitted& e) override { each(&JobListener::on_stage_submitted, e); }
  void on_task_started(const TaskStarted& e) override { each(&JobListener::on_task_started, e); }
  void on_task_ended(const TaskEnded& e) override { each(&JobListener::on_task_ended, e); }
  void on_stage_completed(const StageCompleted& e) override { each(&JobListener::on_stage_completed, e); }
  void on_job_ended(const JobEnded& e) override { each(&JobListener::on_job_ended, e); }
  void on_executor_added(const ExecutorAdded& e) override { each(&JobListener::on_executor_added, e); }
  void on_executor_lost(const ExecutorLost& e) override { each(&JobListener::on_executor_lost, e); }

 private:
  template <class E>
  void each(void (JobListener::*f)(const E&), const E& e) {
    // A listener that fails (a full disk under the event log) must not fail the job.
    for (const auto& l : listeners_) try {
        ((*l).*f)(e);
      } catch (...) {
      }
  }
  std::vector<std::shared_ptr<JobListener>> listeners_;
};

}  // namespace spate::detail
