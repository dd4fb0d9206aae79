// LiveStatus: what the driver knows of its jobs right now, kept from the scheduler's events,
// for the progress line and the status page (whose /api/ bodies it renders, in the schema of
// docs/status-page.md). Internal; included as "events/live_status.hpp".
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/job_events.hpp"

namespace spate::detail {

/// The state of the running jobs, for a progress line.
struct ProgressSnapshot {
  /// Jobs running now; nothing else is meaningful when 0.
  std::size_t running_jobs = 0;
  /// The earliest start of a running job.
  std::int64_t since = 0;
  /// The stage most recently submitted that is still running (-1: none), and its task counts.
  int stage = -1;
  std::string stage_name;
  std::size_t tasks = 0, done = 0, running = 0;
  /// Over the running jobs: records and bytes read by finished tasks.
  std::uint64_t records_in = 0, bytes_in = 0;
  /// Over the Context's life: attempts that failed or were lost, and executors lost.
  std::uint64_t retries = 0, executors_lost = 0;
};

/// Jobs, stages, tasks and executors as the events describe them. Keeps the newest jobs and
/// stages only (kRetained of each), and the tasks of retained stages.
class LiveStatus final : public JobListener {
 public:
  /// The process that runs tasks in local modes.
  struct Driver {
    std::size_t cores = 1;
    std::uint64_t memory_budget = 0;
    std::function<std::uint64_t()> memory_used;
  };
  /// `executors` gives the backend's current executors (memory figures come from there; none
  /// in local modes, where `driver` describes the one process).
  LiveStatus(std::string app, std::string master, Driver driver,
             std::function<std::vector<ExecutorInfo>()> executors);

  void on_job_started(const JobStarted& e) override;
  void on_stage_submitted(const StageSubmitted& e) override;
  void on_task_started(const TaskStarted& e) override;
  void on_task_ended(const TaskEnded& e) override;
  void on_stage_completed(const StageCompleted& e) override;
  void on_job_ended(const JobEnded& e) override;
  void on_executor_added(const ExecutorAdded& e) override;
  void on_executor_lost(const ExecutorLost& e) override;

  /// The JSON body for GET `path` under /api/ (with its query), or nullopt for an unknown path.
  std::optional<std::string> api(std::string_view path) const;
  /// What a progress line shows now.
  ProgressSnapshot progress() const;

  static constexpr std::size_t kRetained = 1000;

 private:
  struct Task {
    std::size_t partition = 0;
    int attempt = 1;
    std::string executor;
    std::string status = "running";
    std::int64_t start = 0;
    std::int64_t duration_ms = 0;
    std::uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0;
    std::string message;
  };
  struct Stage {
    int stage = 0;
    std::uint64_t job = 0;
    int shuffle = -1;
    std::string name;
    std::string status = "running";
    std::size_t tasks = 0, done = 0, running = 0, failed = 0;
    std::vector<int> parents;
    std::uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0;
    std::uint64_t shuffle_read_bytes = 0, shuffle_write_bytes = 0, spill_bytes = 0;
    std::int64_t start = 0, end = 0;
    std::int64_t submitted = 0;  // order of submission, for the progress line
    std::vector<Task> task_list;
  };
  struct Job {
    std::uint64_t job = 0;
    std::string description;
    std::string status = "running";
    std::int64_t start = 0, end = 0;
    std::vector<int> stages;
    std::string error;
  };
  struct Executor {
    std::string id;
    std::uint64_t pid = 0;
    std::string address;
    std::size_t cores = 0;
    bool alive = true;
    std::size_t running = 0, done = 0;
    std::uint64_t shuffle_read_bytes = 0, shuffle_write_bytes = 0;
    std::string lost_reason;
  };

  Executor& executor(const std::string& id);
  std::string app_json() const;
  std::string jobs_json() const;
  std::string stages_json(std::optional<std::uint64_t> job) const;
  std::optional<std::string> tasks_json(int stage) const;
  std::string executors_json() const;

  std::string app_;
  std::string master_;
  Driver driver_;
  std::function<std::vector<ExecutorInfo>()> executor_infos_;
  std::int64_t start_ = now_ms();
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Job> jobs_;
  std::map<int, Stage> stages_;
  std::map<std::string, Executor> executors_;
  std::int64_t submissions_ = 0;
  std::uint64_t retries_ = 0, executors_lost_ = 0;
};

}  // namespace spate::detail
