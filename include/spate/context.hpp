// Context: the entry point of a spate program; it reads spate's flags and creates datasets.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spate/accumulator.hpp"
#include "spate/broadcast.hpp"
#include "spate/dataset.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/object_file_nodes.hpp"
#include "spate/detail/partition_nodes.hpp"
#include "spate/detail/text_file_node.hpp"

namespace spate {

/// Settings a Context runs with. Flags and environment variables fill it in; a program may also
/// build one directly.
struct Options {
  /// "local" (one thread), "local[N]" or "local[*]" (one thread per core, the default);
  /// "local-cluster[N]" or "local-cluster[N,CORES]" (N executor processes of this program,
  /// started here, over loopback TCP); "spate://HOST:PORT" (listen there for executors started
  /// anywhere with `PROGRAM --executor spate://HOST:PORT`).
  std::string master = "local[*]";
  /// Attempts per task before the job fails (at least 1).
  int task_attempts = 4;
  /// spate://: executors to wait for before the first job runs.
  std::size_t min_executors = 1;
  /// spate://: how long to wait for them (and for a free task slot) before failing.
  std::chrono::milliseconds executor_wait{60'000};
  /// How long driver or executor may hear nothing from the other before taking it for gone
  /// (both send heartbeats every tenth of it, at most every second).
  std::chrono::milliseconds heartbeat_timeout{10'000};
  /// Bytes of cached partitions each process that runs tasks may hold (this process in local
  /// modes, each executor of local-cluster); a partition that does not fit is not kept and is
  /// computed again when read. 0: an eighth of the memory this process may use (the physical
  /// memory, or its cgroup's limit when lower), kept within 256 MiB and 4 GiB, shared by the
  /// executors of local-cluster.
  std::uint64_t executor_memory = 0;
  /// How shuffle blocks and spill files are compressed: "lz4", "zstd" or "none"; "" (the
  /// default) means LZ4, except that local modes keep shuffle outputs, which never leave the
  /// process, uncompressed.
  std::string shuffle_compression;
  /// local-cluster: executors started in place of lost ones over the Context's life (0: a lost
  /// executor is not replaced, and the job goes on with the others).
  std::size_t executor_restarts = 16;
  /// How the tasks of concurrent jobs share the slots: "FIFO" (the oldest job's tasks first) or
  /// "FAIR" (pools, chosen per thread with Context::set_scheduler_pool, take turns).
  std::string scheduler_mode = "FIFO";
  /// Speculative execution, by Spark's rules: once 75% of a stage's tasks have finished, a task
  /// running 1.5 times their median gets a copy on another executor; the first copy to finish
  /// wins and the other is killed. Only where there are executors (local-cluster, spate://).
  bool speculation = false;
  /// When the Context ends, print its counters (records, shuffle bytes fetched and the time
  /// spent fetching, ...) to stderr on one line starting "spate metrics:".
  bool print_metrics = false;
  /// Write the event log (one JSON object a line; docs/event-log.md) into this directory, as
  /// spate-events-<app>.jsonl; "" for none.
  std::string event_log_dir;
  /// Where Dataset::checkpoint() writes (each Context in a directory of its own under it); in
  /// cluster modes a directory the driver and every executor share. "" for none.
  std::string checkpoint_dir;
  /// Draw a progress line on stderr for jobs that run longer than a second (only ever when
  /// stderr is a terminal).
  bool progress = true;
  /// Serve the status page (docs/status-page.md) on ui_host:ui_port while the Context lives.
  bool ui = true;
  /// Where the status page listens: loopback unless you choose otherwise.
  std::string ui_host = "127.0.0.1";
  /// Its port; 0 picks a free one; a taken port moves on to the next 16, as Spark's UI does.
  int ui_port = 4040;
};

/// When a local-cluster driver started this process as one of its executors, serves that
/// driver's tasks and ends the process; otherwise returns at once. Context's constructors call
/// it first; call it yourself at the top of a main that does other work before building a
/// Context (a test runner, for instance).
void serve_if_executor();

/// As above, and also when argv holds `--executor spate://HOST:PORT` (see Context's flags).
void serve_if_executor(int argc, const char* const* argv);

/// Owns the engine of one program: its scheduler, task threads and stored blocks. Datasets hold
/// a share of it, so they stay usable as long as any of them lives. Thread-safe: jobs may be
/// started from several threads.
class Context {
 public:
  /// Settings from the environment (SPATE_MASTER) and defaults.
  Context();
  /// Reads spate's flags from the command line: `--master M` (or `--master=M`),
  /// `--task-attempts N`, `--min-executors N`, `--executor-wait SECONDS`,
  /// `--heartbeat-timeout SECONDS`, `--executor-memory SIZE` (bytes, or with a k, m, g or t
  /// suffix: 512m, 4g), `--executor-restarts N`, `--scheduler-mode FIFO|FAIR`, `--speculation`,
  /// `--metrics`, `--event-log DIR`, `--checkpoint-dir DIR`,
  /// `--no-progress`, `--ui-port N`, `--ui-host ADDRESS`, `--no-ui`; then SPATE_MASTER when no
  /// --master is given. argv is not modified; args() holds the program's own arguments (any
  /// argument that is not one of these flags, "--" too, in order). A flag may come anywhere and
  /// a later one overrides an earlier one; none is abbreviated (context_flags_help() in
  /// spate/command_line.hpp lists them). Throws config_error for a malformed value.
  ///
  /// With `--executor spate://HOST:PORT` (and optionally `--executor-cores N`, `--executor-id
  /// ID`, `--executor-host ADDRESS`, `--executor-memory SIZE`) the process becomes an executor of that driver: the
  /// constructor serves tasks until the driver goes away and then ends the process; it never
  /// returns. Executors run the program from its start, so build the Context before doing
  /// anything else.
  Context(int argc, const char* const* argv);
  /// Runs with the given settings.
  explicit Context(Options options);

  /// The program name followed by every argument that is not one of spate's flags, in order.
  const std::vector<std::string>& args() const noexcept { return args_; }
  /// The master in use, as given.
  const std::string& master() const noexcept { return engine_->config().master; }
  /// Task slots: partitions used by parallelize and shuffles unless told otherwise.
  std::size_t default_parallelism() const noexcept { return engine_->default_parallelism(); }

  /// A dataset of `data` split into `partitions` slices of near-equal size (default:
  /// default_parallelism()), in order.
  template <class T>
  Dataset<T> parallelize(std::vector<T> data, std::size_t partitions = 0) const {
    std::size_t n = partitions ? partitions : default_parallelism();
    auto shared = std::make_shared<const std::vector<T>>(std::move(data));
    return Dataset<T>(detail::DatasetCore<T, void>{
        engine_, std::make_shared<detail::ParallelizeNode<T>>(engine_->next_node_id(), shared, n)});
  }

  /// The lines of a file, a directory's files or a glob's files, without their line ends
  /// ("\n", or "\r\n"); `.gz` and `.zst` files are decompressed. Plain files are split into byte
  /// ranges (at least `min_partitions` in all, default default_parallelism(); at most 64 MiB
  /// each), each a partition; a compressed file is one partition. A line is a view, valid while
  /// it is processed: map it to std::string to keep it. Throws io_error when nothing is readable.
  /// `s3://bucket/prefix/`, `s3://bucket/key` and `s3://bucket/prefix/*.log` read S3 objects
  /// the same way (ranged GETs of the version listed at planning; a changed object fails the
  /// job); credentials and endpoint come from the AWS_* environment variables (README, "S3").
  Dataset<std::string_view> text_file(const std::string& path, std::size_t min_partitions = 0) const;

  /// The records of object files written by save_as_object_file (a file, a directory's files or
  /// a glob's files, local or under s3:// as text_file reads them), read as T, which must be the type they were written as (owned_t of the
  /// dataset's record type). Files are split into byte ranges as text_file splits plain files
  /// (at least `min_partitions` in all, default default_parallelism()); a partition holds the
  /// blocks that start in its range, in file order. Throws io_error, on this call, when nothing
  /// is readable, a file is not an object file, or it holds records of another type (naming
  /// both); a block found damaged while reading (checksum mismatch, file cut short) fails the
  /// job, naming the file and the byte offset.
  template <class T>
  Dataset<T> object_file(const std::string& path, std::size_t min_partitions = 0) const {
    static_assert(is_serializable_v<T>, "object_file reads records in spate's binary encoding: T must be serializable (see spate/serialization.hpp)");
    static_assert(std::is_same_v<T, owned_t<T>>, "object_file reads records in their owning form: use std::string for std::string_view");
    std::size_t n = min_partitions ? min_partitions : default_parallelism();
    auto splits = detail::plan_object_file_splits(path, n, detail::object_type_name<T>());
    return Dataset<T>(detail::DatasetCore<T, void>{
        engine_, std::make_shared<detail::ObjectFileNode<T>>(engine_->next_node_id(), std::move(splits))});
  }

  /// A new accumulator, starting at Merge's zero (T{} for Sum). Tasks add to it; the driver reads
  /// value(). Each successful task's additions count once, however often it was attempted.
  template <class T, class Merge = Sum>
  Accumulator<T, Merge> accumulator(std::string name = {}) const {
    static_assert(is_serializable_v<T>, "an accumulator's value type must be serializable (see spate/serialization.hpp)");
    auto state = std::make_shared<detail::AccumulatorState<T, Merge>>(std::move(name));
    return Accumulator<T, Merge>(engine_->add_accumulator(std::move(state)), engine_.get());
  }

  /// Broadcasts a read-only value to the tasks: capture the returned handle in functions and
  /// read it with value(). Each executor fetches the value once, on first use. T must be
  /// serializable.
  template <class T>
  Broadcast<std::decay_t<T>> broadcast(T&& value) const {
    using V = std::decay_t<T>;
    static_assert(is_serializable_v<V>, "a broadcast value must be serializable (see spate/serialization.hpp)");
    auto shared = std::make_shared<const V>(std::forward<T>(value));
    auto id = engine_->add_broadcast(shared, [shared] {
      Writer w;
      serialize_to(w, *shared);
      return std::move(w).take();
    });
    return Broadcast<V>(id, engine_.get());
  }

  /// Jobs this thread starts from now on belong to job group `group` (cancel_job_group cancels
  /// them together) and are shown with `description` when it is not empty.
  void set_job_group(std::string group, std::string description = "") const {
    engine_->set_job_group(std::move(group), std::move(description));
  }
  /// Jobs this thread starts from now on belong to no group.
  void clear_job_group() const { engine_->set_job_group("", ""); }
  /// Cancels the running jobs of `group`; returns how many it cancelled.
  std::size_t cancel_job_group(const std::string& group) const { return engine_->cancel_job_group(group); }
  /// Cancels every running job of this Context; returns how many it cancelled.
  std::size_t cancel_all(const std::string& reason = "cancel_all was called") const {
    return engine_->cancel_all(reason);
  }
  /// With --scheduler-mode FAIR: the tasks of jobs this thread starts from now on share the
  /// slots as pool `pool` ("" for the default pool); pools take the slots in turn.
  void set_scheduler_pool(std::string pool) const { engine_->set_scheduler_pool(std::move(pool)); }

  /// Sets where Dataset::checkpoint() writes from now on (Spark's setCheckpointDir): each
  /// Context checkpoints into a directory of its own under `dir`, created when first needed.
  /// In cluster modes the driver and every executor must see `dir` (a shared file system).
  /// Throws config_error for an s3:// path (checkpoints need a file system).
  void set_checkpoint_dir(const std::string& dir) const { engine_->set_checkpoint_dir(dir); }
  /// The checkpoint directory set, or "".
  std::string checkpoint_dir() const { return engine_->checkpoint_dir(); }

  /// The status page's address with its access token ("http://127.0.0.1:4040/?token=..."),
  /// or "" when it is off. The page answers no request without the token.
  std::string status_url() const;
  /// The event log this Context writes, or "" when it writes none.
  std::string event_log_path() const;

  /// The engine; for spate's own extensions.
  const std::shared_ptr<detail::Engine>& engine() const noexcept { return engine_; }

 private:
  std::shared_ptr<detail::Engine> engine_;
  std::vector<std::string> args_;
};

}  // namespace spate
