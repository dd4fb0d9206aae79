// The event log: every scheduler event as one JSON object a line (docs/event-log.md, version 1).
// Internal; included as "events/event_log.hpp".
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include "events/job_events.hpp"

namespace spate::detail {

/// Writes events to DIR/spate-events-<app>.jsonl. Lines are whole: each is written with one
/// call and flushed at job, stage and executor events, so a killed program's log reads up to
/// its last line. A write that fails (disk full) is reported once on stderr and ends the log;
/// the job goes on.
class EventLog final : public JobListener {
 public:
  /// Creates the directory when missing and opens the log; throws config_error naming
  /// --event-log when it cannot.
  EventLog(const std::string& dir, const std::string& app, const std::string& master);
  /// Writes log_end and closes the file.
  ~EventLog() override;
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  /// The file being written.
  const std::string& path() const noexcept { return path_; }
  /// The application id in its name: `app`, with "-2", "-3", ... when a log of that name
  /// exists already (two Contexts of one program in the same second).
  const std::string& app() const noexcept { return app_; }

  void on_job_started(const JobStarted& e) override;
  void on_stage_submitted(const StageSubmitted& e) override;
  void on_task_started(const TaskStarted& e) override;
  void on_task_ended(const TaskEnded& e) override;
  void on_stage_completed(const StageCompleted& e) override;
  void on_job_ended(const JobEnded& e) override;
  void on_executor_added(const ExecutorAdded& e) override;
  void on_executor_lost(const ExecutorLost& e) override;

 private:
  void write(const std::string& line, bool flush);

  std::mutex mutex_;
  std::string path_;
  std::string app_;
  std::FILE* file_ = nullptr;
  std::int64_t start_ = 0;
};

}  // namespace spate::detail
