// TaskRunner: a fresh set of threads per stage; cheap next to a stage's work, nothing to shut down.
#include "scheduler/task_runner.hpp"

#include <cctype>
#include <utility>

#include <fmt/format.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "spate/error.hpp"

namespace spate::detail {

namespace {
// Marks threads that run tasks, so a job started from inside a task runs inline.
thread_local bool tl_in_task = false;

// "in map: bad record" (an operator_error's text, which may have crossed from an executor as
// text) -> {"map", "bad record"}; any other message -> {"", message}.
std::pair<std::string, std::string> split_operator(const std::string& message) {
  if (!message.starts_with("in ")) return {"", message};
  auto colon = message.find(": ", 3);
  if (colon == std::string::npos || colon == 3) return {"", message};
  for (std::size_t i = 3; i < colon; ++i)
    if (!(std::islower(static_cast<unsigned char>(message[i])) || message[i] == '_')) return {"", message};
  return {message.substr(3, colon - 3), message.substr(colon + 2)};
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}
}  // namespace

void TaskRunner::run(std::size_t count, const Task& task, int stage, const std::string& stage_name,
                     const std::function<std::size_t(std::size_t)>& partition_of) const {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  struct Failure {
    std::size_t index;
    int attempts;
    std::string message;
  };
  std::optional<Failure> failure;

  auto worker = [&] {
    bool was_in_task = tl_in_task;
    tl_in_task = true;
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) break;
      std::size_t i = next.fetch_add(1);
      if (i >= count) break;
      for (int attempt = 1;; ++attempt) {
        try {
          task(i, attempt);
          break;
        } catch (const input_error&) {
          // Bad input fails the same way on every attempt: report it at once.
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = Failure{i, attempt, message_of(std::current_exception())};
          failed = true;
          break;
        } catch (...) {
          if (attempt < max_attempts_) continue;
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = Failure{i, attempt, message_of(std::current_exception())};
          failed = true;
          break;
        }
      }
    }
    tl_in_task = was_in_task;
  };

  std::size_t n = std::min(threads_, count);
  if (n <= 1 || (tl_in_task && inline_when_nested_)) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    pool.reserve(n - 1);
    for (std::size_t t = 0; t + 1 < n; ++t) pool.emplace_back(worker);
    worker();
  }
  if (failure) {
    std::size_t partition = partition_of(failure->index);
    auto [op, user_message] = split_operator(failure->message);
    throw job_error(fmt::format("job failed: stage {} ({}) partition {} failed {} time{} (last: attempt "
                                "{}); last error: {}",
                                stage, stage_name, partition, failure->attempts,
                                failure->attempts == 1 ? "" : "s", failure->attempts, failure->message),
                    user_message, stage, partition, failure->attempts, op);
  }
}

}  // namespace spate::detail
