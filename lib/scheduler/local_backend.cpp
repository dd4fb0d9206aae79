// The local backend: a task is a call on the scheduler's thread, blocks stay in this process.
#include "scheduler/backend.hpp"
#include "scheduler/task_loss.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/shuffle_dependency.hpp"

namespace spate::detail {

namespace {

class LocalBackend final : public Backend {
 public:
  LocalBackend(BlockStore& blocks, std::size_t threads, BroadcastSource& broadcasts)
      : blocks_(blocks), threads_(threads), broadcasts_(broadcasts) {}

  bool ships_tasks() const noexcept override { return false; }
  std::size_t slots() override { return threads_; }
  bool has_map_output(int shuffle, std::size_t m) override {
    return blocks_.map_output(shuffle, m) != nullptr;
  }
  TaskUpdates run_map(const ShuffleDependencyBase& dep, const TaskSpec& spec) override {
    return run(spec, [&](TaskContext& tc) { dep.run_map_task(tc, spec.partition); });
  }
  TaskUpdates run_result(ResultHandler& handler, const TaskSpec& spec) override {
    return run(spec, [&](TaskContext& tc) { handler.run_task(tc, spec.partition); });
  }
  // The task reads its kill flag itself.
  void kill_task(std::uint64_t) override {}
  void drop_cached(std::uint64_t node_id) override { blocks_.drop_cached(node_id); }
  void remove_shuffle(int shuffle) override { blocks_.drop_shuffle(shuffle); }
  void shuffle_idle(int shuffle) override { blocks_.shuffle_idle(shuffle); }
  void remove_broadcast(std::uint64_t) override {}  // the driver's table is the only copy

 private:
  template <class Body>
  TaskUpdates run(const TaskSpec& spec, Body&& body) {
    // Copies of slow tasks are for other executors; in one process there is none.
    if (spec.speculative) throw task_not_launched("local mode has no other executor");
    TaskContext tc(blocks_, spec.stage, spec.partition, spec.attempt);
    tc.set_broadcasts(&broadcasts_);
    tc.set_kill_flag(spec.kill.get());
    CurrentTaskScope current(tc);
    if (spec.on_launch) spec.on_launch("driver");
    tc.check_killed();
    body(tc);
    return {tc.counters(), tc.accumulator_updates(), "driver", std::nullopt};
  }

  BlockStore& blocks_;
  std::size_t threads_;
  BroadcastSource& broadcasts_;
};

}  // namespace

std::unique_ptr<Backend> make_local_backend(BlockStore& blocks, std::size_t threads,
                                           BroadcastSource& broadcasts) {
  return std::make_unique<LocalBackend>(blocks, threads, broadcasts);
}

}  // namespace spate::detail
