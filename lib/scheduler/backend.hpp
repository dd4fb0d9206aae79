// Backend: where the scheduler's tasks run: threads of this process, or executor processes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/engine.hpp"

namespace spate::detail {

class BlockStore;
class ShuffleDependencyBase;

/// Counters a task attempt added to (see TaskContext::add_counter).
using Counters = std::vector<std::pair<std::string, std::uint64_t>>;

/// What a successful task attempt reports besides its result: kept only for successful attempts.
struct TaskUpdates {
  Counters counters;
  AccumulatorUpdates accumulators;
  std::string executor;  // where the attempt ran
  /// A result task run in another process: its result as save_result wrote it, for the driver
  /// to load only when this copy is the one that counts.
  std::optional<std::string> result;
};

/// The saved form of broadcast `id` for an executor that asks for it; nullopt for an unknown id.
using BroadcastBytes = std::function<std::optional<std::string>(std::uint64_t id)>;

/// One task attempt, as the scheduler hands it to a backend.
struct TaskSpec {
  int stage = 0;
  std::size_t partition = 0;
  int attempt = 1;
  /// The stage in shipped form (map side of the shuffle, or the job handler); empty when the
  /// backend runs tasks in this process.
  const std::string* stage_bytes = nullptr;
  /// The shuffles the stage reads, as (shuffle id, number of map partitions).
  std::vector<std::pair<int, std::size_t>> shuffles_read;
  /// Cached nodes in the stage's lineage: a process holding their partition is the best place
  /// to run the task.
  std::vector<std::uint64_t> cached_nodes;
  /// Those of them that are pinned (NodeBase::pinned): the task runs where their partition is,
  /// or fails.
  std::vector<std::uint64_t> pinned_nodes;
  /// Called with the executor's id once the attempt is handed to it (may be empty).
  std::function<void(const std::string& executor)> on_launch;
  /// Unique among the attempts of this driver; kill_task names it.
  std::uint64_t task_id = 0;
  /// Set when the attempt is to stop; the task checks it between batches of records.
  std::shared_ptr<std::atomic<bool>> kill;
  /// A copy of a slow task: it must run on another executor than this one, or not at all
  /// (task_not_launched).
  std::string avoid_executor;
  bool speculative = false;
};

/// Runs task attempts. Thread-safe: the scheduler calls it from one thread per task slot.
class Backend {
 public:
  virtual ~Backend() = default;
  /// True when tasks run in other processes, so stages must be shipped as bytes.
  virtual bool ships_tasks() const noexcept = 0;
  /// Tasks that can run at once.
  virtual std::size_t slots() = 0;
  /// The executors known to the backend (none for local backends).
  virtual std::vector<ExecutorInfo> executors() { return {}; }
  /// True when map partition m of the shuffle has an output somewhere it can be fetched from.
  virtual bool has_map_output(int shuffle, std::size_t m) = 0;
  /// Runs map task `spec.partition` of `dep`; throws the task's error, task_lost when its
  /// executor was lost, fetch_failure when a block it reads could not be had.
  virtual TaskUpdates run_map(const ShuffleDependencyBase& dep, const TaskSpec& spec) = 0;
  /// Runs the job handler on `spec.partition`: in this process the result stays in the handler;
  /// elsewhere it comes back as TaskUpdates::result. Throws the task's error.
  virtual TaskUpdates run_result(ResultHandler& handler, const TaskSpec& spec) = 0;
  /// Stops attempt `task_id` (its spec's kill flag is set already): an attempt on an executor is
  /// told to stop, and its run_map or run_result returns at once with task_killed. Unknown or
  /// finished attempts are ignored.
  virtual void kill_task(std::uint64_t task_id) = 0;
  /// Frees the cached partitions of a node wherever tasks stored them.
  virtual void drop_cached(std::uint64_t node_id) = 0;
  /// Frees every map output of a shuffle wherever tasks wrote them.
  virtual void remove_shuffle(int shuffle) = 0;
  /// Says that no running stage reads the shuffle any more (BlockStore::shuffle_idle), wherever
  /// tasks wrote its outputs.
  virtual void shuffle_idle(int shuffle) = 0;
  /// Makes executors forget a broadcast value they fetched.
  virtual void remove_broadcast(std::uint64_t id) = 0;
};

/// Tasks on threads of this process, blocks in its own block store: local and local[N].
std::unique_ptr<Backend> make_local_backend(BlockStore& blocks, std::size_t threads,
                                           BroadcastSource& broadcasts);

class JobListener;

/// Executor processes: local-cluster[N] (started here) or spate://HOST:PORT (joining).
/// Executors added and lost are told to `events`.
std::unique_ptr<Backend> make_cluster_backend(const EngineConfig& config, BroadcastBytes broadcasts,
                                              JobListener& events);

}  // namespace spate::detail
