// CancelOnInterrupt: Ctrl-C cancels the running jobs, so a program ends cleanly, not mid-write.
#pragma once

#include <memory>

namespace spate {

class Context;

/// While it lives, SIGINT or SIGTERM cancels every running job of the Context (each throws
/// job_cancelled, its tasks are killed and its partial output removed) instead of killing the
/// process; a second signal ends the process at once with status 130. The bundled programs keep
/// one and exit with kExitStatus when a job was cancelled, as shells expect of Ctrl-C. At most
/// one may live in a process at a time (signal dispositions belong to the process); a second
/// throws spate::error.
class CancelOnInterrupt {
 public:
  /// The status a program interrupted by Ctrl-C exits with (128 + SIGINT).
  static constexpr int kExitStatus = 130;

  explicit CancelOnInterrupt(const Context& ctx);
  /// Restores the signal dispositions that were in place before.
  ~CancelOnInterrupt();
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  /// True once a signal has come.
  bool interrupted() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate
