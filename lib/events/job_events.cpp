// Event times are wall-clock milliseconds, so that a log can be read against other logs.
#include "events/job_events.hpp"

#include <chrono>

namespace spate::detail {

std::int64_t now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace spate::detail
