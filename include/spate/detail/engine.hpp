// Engine: the compiled core behind a Context: ids, the block store and the job scheduler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spate/detail/job_control.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

class NodeBase;
class BlockStore;

/// Settings an Engine runs with; parsed from flags and the environment by Context.
struct EngineConfig {
  std::string master = "local[*]";
  /// Threads that run tasks (local[N]'s N).
  std::size_t threads = 1;
  /// Attempts per task before the job fails.
  int max_task_attempts = 4;
  /// spate:// masters: executors to wait for before the first job, and how long to wait (also
  /// the longest a task waits for a free slot).
  std::size_t min_executors = 1;
  std::chrono::milliseconds executor_wait{60'000};
  /// How often driver and executors tell each other they are alive, and how long a silence
  /// means the other side is gone (a host that drops off the network closes no connection).
  std::chrono::milliseconds heartbeat_interval{1'000};
  std::chrono::milliseconds heartbeat_timeout{10'000};
  /// Bytes each task-running process may hold in cached partitions (this process in local
  /// modes; each executor started by local-cluster). 0: the default share of physical memory.
  std::uint64_t memory_budget = 0;
  /// How shuffle outputs and spill files are compressed; nullopt: LZ4, except that in local
  /// modes shuffle outputs, which never leave the process, are not compressed.
  std::optional<Codec> shuffle_compression;
  /// FAIR scheduling between pools (--scheduler-mode FAIR); FIFO otherwise.
  bool fair_scheduler = false;
  /// Run copies of slow tasks on other executors (--speculation).
  bool speculation = false;
  /// Print every counter to stderr, one line, when the engine ends (--metrics).
  bool print_metrics = false;
  /// How often the map outputs of one shuffle may be recomputed after losses, per job.
  int max_stage_attempts = 4;
  /// local-cluster: executors started in place of lost ones, over the engine's life.
  std::size_t max_executor_restarts = 16;
  /// Write the event log (docs/event-log.md) into this directory; "" for none.
  std::string event_log_dir;
  /// Where checkpoint() writes, shared by the driver and every executor; "" for none yet.
  std::string checkpoint_dir;
  /// Draw a progress line on stderr for jobs longer than a second, when stderr is a terminal.
  bool progress = true;
  /// Serve the status page on ui_host:ui_port (0: any free port; a taken port moves on to the
  /// next ones, as Spark's UI does).
  bool ui = true;
  std::string ui_host = "127.0.0.1";
  int ui_port = 4040;
};

/// One task attempt as the scheduler saw it end: the record from which a test or a log learns
/// which partitions ran where, and which were computed again.
struct TaskAttempt {
  enum class Outcome { succeeded, failed, lost, fetch_failed, killed };
  std::uint64_t job = 0;
  int stage = 0;
  /// The shuffle a map task wrote, or -1 for a result task.
  int shuffle = -1;
  std::size_t partition = 0;
  /// The attempt number counted against the task's attempts (a lost attempt does not count, so
  /// its re-run carries the same number).
  int attempt = 1;
  /// Where it ran ("driver" in local modes; "" when the executor is not known).
  std::string executor;
  Outcome outcome = Outcome::succeeded;
  std::string message;
  /// A copy of a slow task, run on another executor (--speculation).
  bool speculative = false;
};

/// An executor as the driver knows it.
struct ExecutorInfo {
  std::string id;
  std::uint64_t pid = 0;
  std::string block_address;
  std::size_t cores = 0;
  bool alive = false;
  /// Bytes reserved in its memory pool and its budget, as of its last heartbeat.
  std::uint64_t memory_used = 0;
  std::uint64_t memory_budget = 0;
};

class GraphWriter;

/// The per-partition work of an action; its results stay in the handler, indexed by partition.
/// A handler ships to executors like a node (registered type, save/load), and its per-partition
/// results travel back through save_result / load_result.
class ResultHandler {
 public:
  virtual ~ResultHandler() = default;
  /// The registry key of the concrete handler type.
  virtual const char* type_key() const noexcept = 0;
  /// Writes the handler's state (its node and functions) into a task.
  virtual void save(GraphWriter& w) const = 0;
  /// The number of partitions of the job's node; run_task takes no other partition.
  virtual std::size_t num_partitions() const noexcept = 0;
  /// Writes the result that run_task kept for partition p.
  virtual void save_result(std::size_t p, Writer& w) const = 0;
  /// Keeps a result for partition p that save_result wrote in another process.
  virtual void load_result(std::size_t p, Reader& r) = 0;
  /// Computes partition p of the job's node and keeps its result; may run concurrently for
  /// different partitions, and again for the same partition on a retry.
  virtual void run_task(TaskContext& tc, std::size_t p) = 0;
  /// Called once the job's tasks have all succeeded (e.g. to commit output).
  virtual void job_succeeded() {}
  /// Called when the job fails, before the error propagates (e.g. to remove temporary output).
  virtual void job_failed() noexcept {}
};

/// The driver's side of one accumulator: it merges the updates of successful task attempts.
class AccumulatorBase {
 public:
  virtual ~AccumulatorBase() = default;
  /// Merges a partial value that an AccumulatorPartial saved.
  virtual void merge_saved(Reader& r) = 0;
};

/// Owns the scheduler and block store of one Context. Thread-safe: several threads may run jobs.
class Engine {
 public:
  explicit Engine(EngineConfig config);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  const EngineConfig& config() const noexcept;
  /// Partitions used by default for parallelize and shuffles: the number of task slots.
  std::size_t default_parallelism() const noexcept;
  /// A fresh node id.
  std::uint64_t next_node_id() noexcept;
  /// A fresh shuffle id.
  int next_shuffle_id() noexcept;
  /// The block store of this process.
  BlockStore& block_store() noexcept;

  /// The task attempts that have ended (the latest 100,000), in the order they ended.
  std::vector<TaskAttempt> task_attempts() const;
  /// The executors that have registered (empty in local modes), lost ones included.
  std::vector<ExecutorInfo> executors() const;
  /// The status page's address with its access token, or "" when it is off.
  std::string status_url() const;
  /// The event log being written, or "" when there is none.
  std::string event_log_path() const;

  /// Frees the cached partitions of a node, in this process and in executors.
  void drop_cached(std::uint64_t node_id);
  /// Frees the cached partitions of `node` once its last handle goes, wherever they are.
  void track_cached(const std::shared_ptr<NodeBase>& node);

  /// Sets the directory under which checkpoint() writes (Context::set_checkpoint_dir).
  void set_checkpoint_dir(std::string dir);
  /// The directory set, or "".
  std::string checkpoint_dir() const;
  /// Where the checkpoint of node `node_id` goes: a directory of its own under the checkpoint
  /// directory, in one for this engine. Throws spate::error when no checkpoint directory is set.
  std::string checkpoint_path(std::uint64_t node_id) const;

  /// The total of a named counter over every successful task attempt so far (0 if none).
  std::uint64_t counter(const std::string& name) const;

  /// Registers an accumulator; updates of successful task attempts are merged into it.
  std::uint64_t add_accumulator(std::shared_ptr<AccumulatorBase> accumulator);
  /// The accumulator registered under `id`; throws spate::error for an unknown id.
  std::shared_ptr<AccumulatorBase> accumulator(std::uint64_t id) const;

  /// Registers a broadcast value; `encode` gives its shipped form when an executor asks for it.
  std::uint64_t add_broadcast(std::shared_ptr<const void> value, std::function<std::string()> encode);
  /// Frees broadcast `id` here and in every executor (Broadcast::destroy).
  void destroy_broadcast(std::uint64_t id);
  /// The driver's table of broadcast values.
  BroadcastSource& broadcasts() noexcept;

  /// Runs the handler on `partitions` of `node` (all partitions when empty): first every missing
  /// output of the shuffles the node depends on (independent stages at once), then one task per
  /// partition. Throws spate::job_error when a task fails after its attempts, job_cancelled when
  /// the job is cancelled. Started inside a task, it lends that task's slot while it waits.
  void run_job(const std::shared_ptr<NodeBase>& node, ResultHandler& handler,
               const std::vector<std::size_t>& partitions = {});
  /// Starts the same job without waiting for it; `keep_alive` (the handler's owner) is held
  /// until the job has ended.
  std::shared_ptr<JobControl> submit_job(const std::shared_ptr<NodeBase>& node, ResultHandler& handler,
                                         const std::vector<std::size_t>& partitions,
                                         std::shared_ptr<void> keep_alive);

  /// Jobs this thread starts from now on belong to `group` (cancel_job_group) and are shown
  /// with `description`.
  void set_job_group(std::string group, std::string description);
  /// Jobs this thread starts from now on run in FAIR pool `pool` ("" for the default pool).
  void set_scheduler_pool(std::string pool);
  /// Forgets this thread's job group, description and pool.
  void clear_thread_properties();
  /// Cancels the running jobs of `group`; returns how many.
  std::size_t cancel_job_group(const std::string& group);
  /// Cancels every running job; returns how many.
  std::size_t cancel_all(const std::string& reason);
  /// Cancels job `id`; false when it is not running.
  bool cancel_job(std::uint64_t id, const std::string& reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spate::detail
