// The current task of a thread, and the saved form of a task's accumulator updates.
#include "spate/detail/task_context.hpp"

#include "scheduler/task_loss.hpp"

#include "spate/serialization.hpp"
#include "spate/task_info.hpp"

namespace spate::detail {

// Accumulators and broadcast handles reach their task through this; a handle captured in a user
// function cannot carry a pointer to it across processes.
constinit thread_local TaskContext* tl_current_task = nullptr;

// An empty executor means "the process that ran the task": the driver fills it in.
void throw_damaged_output(const std::string& what, int shuffle, std::size_t map) {
  throw fetch_failure(what, shuffle, map, "");
}

void throw_task_killed() { throw task_killed("task killed"); }

CurrentTaskScope::CurrentTaskScope(TaskContext& tc) noexcept : previous_(tl_current_task) { tl_current_task = &tc; }
CurrentTaskScope::~CurrentTaskScope() { tl_current_task = previous_; }

AccumulatorUpdates TaskContext::accumulator_updates() const {
  AccumulatorUpdates out;
  out.reserve(partials_.size());
  for (const auto& [id, p] : partials_) {
    Writer w;
    p->save(w);
    out.emplace_back(id, std::move(w).take());
  }
  return out;
}

}  // namespace spate::detail

namespace spate {

std::optional<TaskInfo> this_task() noexcept {
  const detail::TaskContext* tc = detail::current_task();
  if (!tc) return std::nullopt;
  return TaskInfo{tc->stage(), tc->partition(), tc->attempt()};
}

}  // namespace spate
