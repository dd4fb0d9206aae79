// JobHandle: an action started without waiting for it (count_async, collect_async, ...).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "spate/detail/engine.hpp"
#include "spate/detail/job_control.hpp"
#include "spate/error.hpp"

namespace spate {

/// A running action: wait for it, take its result, or cancel it, from any thread. Copies share
/// the job. Dropping every handle does not cancel the job: it runs to its end (as in Spark).
template <class T>
class JobHandle {
 public:
  JobHandle(std::shared_ptr<detail::Engine> engine, std::shared_ptr<detail::JobControl> control,
            std::function<T()> result)
      : engine_(std::move(engine)), control_(std::move(control)),
        result_(std::make_shared<std::function<T()>>(std::move(result))) {}

  /// The job's id, as the event log and the status page show it.
  std::uint64_t id() const noexcept { return control_->id(); }
  /// True once the job has ended (succeeded, failed or cancelled) and none of its tasks runs.
  bool done() const { return control_->done(); }
  /// Blocks until done().
  void wait() const { control_->wait(); }
  /// Cancels the job: its tasks are killed (each stops at its next batch of records), its
  /// partial outputs removed, and get() throws job_cancelled. Returns false when the job had
  /// ended or was cancelled already; never throws.
  bool cancel(const std::string& reason = "") const { return control_->cancel(reason); }
  /// Waits, then returns the result (once: it is moved out) or throws the job's error:
  /// job_error, job_cancelled, or spate::error when the result was taken already.
  T get() {
    wait();
    control_->rethrow_if_failed();
    if (!*result_) throw error("JobHandle::get: the job's result was taken already");
    auto take = std::exchange(*result_, nullptr);
    return take();
  }

 private:
  std::shared_ptr<detail::Engine> engine_;  // the job's engine lives as long as its handle
  std::shared_ptr<detail::JobControl> control_;
  std::shared_ptr<std::function<T()>> result_;
};

}  // namespace spate
