// spate-history's reader and report: an event log (docs/event-log.md, version 1) read into jobs,
// stages, tasks and executors, and the text summary printed from them.
// Internal; included as "history/history_summary.hpp".
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace spate::history {

/// The only event log version this reader understands.
inline constexpr int kLogVersion = 1;

/// A largest partition at least this many times the median marks a stage as skewed.
inline constexpr double kSkewRatio = 2.0;

/// One task attempt as its task_end reported it (a re-run after a lost executor is another
/// TaskEnd with the same attempt number).
struct TaskEnd {
  int stage = 0;
  std::int64_t partition = 0;
  int attempt = 1;
  std::string executor;
  /// "succeeded", "failed", "lost" or "fetch_failed".
  std::string outcome;
  std::string message;
  std::int64_t time = 0;
  std::int64_t duration_ms = 0;
  // The counters of a succeeded attempt; 0 for the others.
  std::int64_t records_in = 0;
  std::int64_t bytes_in = 0;
  std::int64_t records_out = 0;
  std::int64_t bytes_out = 0;
  std::int64_t shuffle_read_bytes = 0;
  std::int64_t shuffle_remote_bytes = 0;
  std::int64_t shuffle_write_bytes = 0;
  std::int64_t spill_bytes = 0;
  /// The line of the log it came from.
  std::int64_t line = 0;

  /// Whether the attempt produced its partition.
  bool succeeded() const noexcept { return outcome == "succeeded"; }
};

/// One submission of a stage within a job (stage_submitted, and stage_completed when it came).
struct StageAttempt {
  int attempt = 1;
  std::int64_t submitted_time = 0;
  /// The tasks this submission ran (only the missing partitions of a partly present shuffle).
  std::int64_t tasks = 0;
  /// Set by stage_completed; empty while the submission had not ended when the log stopped.
  std::optional<std::int64_t> completed_time;
  std::int64_t duration_ms = 0;
  bool succeeded = false;
  std::string message;
};

/// A stage as one job ran it. A map stage reused by several jobs appears once in each job
/// that submitted it.
struct Stage {
  int id = 0;
  /// "map" or "result" ("" when the log has tasks of a stage it never submitted).
  std::string kind;
  std::string name;
  int shuffle = -1;
  std::int64_t partitions = 0;
  std::vector<int> parents;
  std::vector<StageAttempt> attempts;
  /// Every task_end of the stage in this job, in log order.
  std::vector<TaskEnd> tasks;
  /// Task attempts started whose end is not in the log.
  std::int64_t unfinished_tasks = 0;
};

/// A job from job_start to job_end.
struct Job {
  int id = 0;
  std::string description;
  std::int64_t partitions = 0;
  std::int64_t start_time = 0;
  /// Set by job_end; empty when the log stops before the job ended.
  std::optional<std::int64_t> end_time;
  std::int64_t duration_ms = 0;
  bool succeeded = false;
  std::string error;
  /// In the order they were first submitted.
  std::vector<Stage> stages;
};

/// An executor from executor_added (or first seen running a task) to executor_lost.
struct Executor {
  std::string id;
  std::int64_t pid = 0;
  std::string address;
  std::int64_t cores = 0;
  /// Empty for an executor seen only in task events ("driver" in local modes).
  std::optional<std::int64_t> added_time;
  std::optional<std::int64_t> lost_time;
  std::string lost_reason;
};

/// A whole event log: the program run's header, its executors and jobs, in log order.
struct EventLog {
  /// The file name used in errors and in the summary.
  std::string name;
  int version = 0;
  std::string app, master, host, spate_version;
  std::int64_t pid = 0;
  std::int64_t start_time = 0;
  /// From log_end; empty when the program did not end cleanly.
  std::optional<std::int64_t> duration_ms;
  /// The latest time of any event.
  std::int64_t last_time = 0;
  std::vector<Executor> executors;
  std::vector<Job> jobs;
  /// Things the reader skipped and the reader of the summary should know (a truncated line).
  std::vector<std::string> notes;

  /// The job with this id, or nullptr.
  const Job* job(int id) const;
};

/// Reads an event log from `in`; `name` names it in errors. Throws spate::input_error
/// "NAME:LINE: reason" for a line that is not a JSON object, has no "event", lacks a member an
/// event needs, or a log_start of a version other than 1. A last line that is cut short and has
/// no newline (a program killed while writing it) is skipped with a note instead. Unknown events
/// and members are ignored.
EventLog read_event_log(std::istream& in, const std::string& name);

/// Reads the event log at `path`; throws spate::io_error when it cannot be opened or read.
EventLog read_event_log_file(const std::filesystem::path& path);

/// The log to read for `path`: the file itself, or for a directory its newest
/// spate-events-*.jsonl (by modification time, then name). Throws spate::io_error when there is
/// none.
std::filesystem::path pick_event_log(const std::filesystem::path& path);

/// What the summary shows.
struct SummaryOptions {
  /// Only this job; all jobs when empty.
  std::optional<int> job;
  /// How many of the slowest tasks each job lists.
  std::size_t top = 5;
};

/// The text summary of `log`: header, then per job its stages, slowest tasks, skew, retries and
/// where the time went, then the lost executors and notes. Throws spate::config_error when
/// options.job names no job of the log.
std::string render_summary(const EventLog& log, const SummaryOptions& options = {});

}  // namespace spate::history
