// JobControl: the driver's handle on one submitted job, behind spate::JobHandle.
#pragma once

#include <cstdint>
#include <string>

namespace spate::detail {

/// A job submitted to the scheduler: it can be waited on and cancelled from any thread.
class JobControl {
 public:
  virtual ~JobControl() = default;
  /// The job's id, as the event log and the status page show it.
  virtual std::uint64_t id() const noexcept = 0;
  /// True once the job has ended (succeeded, failed or cancelled) and nothing of it runs.
  virtual bool done() const = 0;
  /// Blocks until done(). Called on a task thread (a job started inside a task), it lends the
  /// thread's slot to other tasks while it waits.
  virtual void wait() = 0;
  /// Asks the scheduler to cancel the job: its running tasks are killed, its partial outputs
  /// dropped, and waiters get job_cancelled. Returns false when the job had ended already or
  /// was cancelled before; never throws.
  virtual bool cancel(const std::string& reason = "") = 0;
  /// After done(): throws the job's error (job_error, job_cancelled, ...) if it did not succeed.
  virtual void rethrow_if_failed() const = 0;
};

}  // namespace spate::detail
