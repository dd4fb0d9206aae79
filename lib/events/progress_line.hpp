// The progress line: one line on stderr, redrawn in place, for jobs that run longer than a
// second. Internal; included as "events/progress_line.hpp".
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "events/live_status.hpp"

namespace spate::detail {

/// Formats a progress line from a snapshot taken `now` (ms since epoch); "" when no job has run
/// for a second yet. Width-limited to `columns`.
std::string format_progress(const ProgressSnapshot& p, std::int64_t now, std::size_t columns);

/// Redraws the progress line about four times a second from its own thread, and clears it when
/// the jobs end. Only for a terminal: the Engine does not start one when stderr is not a tty.
class ProgressLine {
 public:
  explicit ProgressLine(std::shared_ptr<const LiveStatus> status);
  /// Clears the line and stops the thread.
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  void run(std::stop_token stop);

  std::shared_ptr<const LiveStatus> status_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  bool shown_ = false;
  std::jthread thread_;
};

}  // namespace spate::detail
