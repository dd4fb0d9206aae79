// TaskContext: what a running task knows about itself and where its blocks live.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spate/detail/block_codec.hpp"

namespace spate {
class Writer;
}

namespace spate::detail {

class BlockStore;

/// Turns a broadcast value's shipped bytes into the value.
using BroadcastDecoder = std::shared_ptr<const void> (*)(std::string_view bytes);

/// Where a task finds broadcast values: the driver's own table, or an executor's cache that
/// fetches each value from the driver once.
class BroadcastSource {
 public:
  virtual ~BroadcastSource() = default;
  /// The value of broadcast `id`; `decode` turns its shipped bytes into the value when it has
  /// to be fetched. Throws when the value cannot be had.
  virtual std::shared_ptr<const void> broadcast_value(
      std::uint64_t id,
      BroadcastDecoder decode) = 0;
};

/// One task attempt's contribution to one accumulator, kept until the attempt ends.
class AccumulatorPartial {
 public:
  virtual ~AccumulatorPartial() = default;
  /// Writes the contribution for the driver to merge.
  virtual void save(Writer& w) const = 0;
};

/// Updates a task attempt made to accumulators: (accumulator id, saved partial value).
using AccumulatorUpdates = std::vector<std::pair<std::uint64_t, std::string>>;

/// One reduce partition's buckets that live in other processes, requested ahead of their use
/// (many to a request, from every executor at once) and handed out in map order.
class BlockStream {
 public:
  virtual ~BlockStream() = default;
  /// Feeds the next map output's bucket to `decoder` as its pieces arrive, then finishes it;
  /// the decoder hands each chunk's raw bytes to `sink`. `map` must be the next of the maps the
  /// stream was opened with. Throws fetch_failure when the bucket cannot be had or arrives
  /// damaged; what `sink` throws passes through.
  virtual void read(std::size_t map, ChunkDecoder& decoder, const ChunkDecoder::Sink& sink) = 0;
  /// Stored bytes received so far.
  virtual std::uint64_t bytes() const noexcept = 0;
};

/// Fetches shuffle buckets written in other processes (by the executor that holds them).
class BucketFetcher {
 public:
  virtual ~BucketFetcher() = default;
  /// Starts fetching bucket `reduce` of the map outputs `maps` (ascending) of `shuffle`.
  virtual std::unique_ptr<BlockStream> open(int shuffle, std::size_t reduce,
                                            std::vector<std::size_t> maps) = 0;
};

/// Throws what makes the scheduler compute map output `map` of `shuffle` again: the output, in
/// this task's own process, was found damaged and has been dropped from the block store.
[[noreturn]] void throw_damaged_output(const std::string& what, int shuffle, std::size_t map);

/// Throws what ends a task attempt the scheduler told to stop.
[[noreturn]] void throw_task_killed();

/// How many records a source hands on between two looks at its task's kill flag: a look costs
/// next to nothing, and even slow records leave a killed task little to finish.
inline constexpr std::size_t kRecordsBetweenChecks = 1024;

/// Identity of one task attempt and its access to the block store; owned by the scheduler,
/// lent to node code for the duration of one task.
class TaskContext {
 public:
  TaskContext(BlockStore& blocks, int stage, std::size_t partition, int attempt)
      : blocks_(blocks), stage_(stage), partition_(partition), attempt_(attempt) {}

  /// The block store holding shuffle outputs and cached partitions.
  BlockStore& blocks() const noexcept { return blocks_; }
  /// Where buckets missing from blocks() come from; nullptr when every bucket is local.
  BucketFetcher* fetcher() const noexcept { return fetcher_; }
  void set_fetcher(BucketFetcher* f) noexcept { fetcher_ = f; }
  /// The stage this task belongs to.
  int stage() const noexcept { return stage_; }
  /// The partition this task computes.
  std::size_t partition() const noexcept { return partition_; }
  /// The attempt number, 1-based.
  int attempt() const noexcept { return attempt_; }

  /// Adds n to a named counter; the engine keeps the counters of successful attempts only.
  /// Names the event log reads: input.records/bytes, shuffle.read.records/bytes,
  /// shuffle.write.records/bytes, output.records/bytes, spill.bytes.
  void add_counter(const std::string& name, std::uint64_t n) {
    for (auto& [k, v] : counters_)
      if (k == name) {
        v += n;
        return;
      }
    counters_.emplace_back(name, n);
  }
  /// The counters this attempt added to.
  const std::vector<std::pair<std::string, std::uint64_t>>& counters() const noexcept {
    return counters_;
  }

  /// Records that this task stored its partition of cached node `node_id` in blocks().
  void note_cached(std::uint64_t node_id) { cached_.push_back(node_id); }
  /// The cached nodes whose partition this task stored.
  const std::vector<std::uint64_t>& cached_nodes() const noexcept { return cached_; }

  /// The flag the scheduler sets when this attempt is to stop (its job was cancelled, or
  /// another copy finished first); nullptr when nothing stops it.
  void set_kill_flag(const std::atomic<bool>* flag) noexcept { kill_ = flag; }
  /// True once the scheduler told this attempt to stop.
  bool killed() const noexcept { return kill_ && kill_->load(std::memory_order_relaxed); }
  /// Ends the attempt once the scheduler told it to stop. Sources of records call it between
  /// batches, so the tasks of a cancelled job end within a moment.
  void check_killed() const {
    if (killed()) throw_task_killed();
  }

  /// Where this task's broadcast values come from; nullptr outside a backend.
  BroadcastSource* broadcasts() const noexcept { return broadcasts_; }
  void set_broadcasts(BroadcastSource* b) noexcept { broadcasts_ = b; }

  /// The value of broadcast `id`: looked up in broadcasts() on this attempt's first use, then
  /// kept (and kept alive) for the attempt, so a task reading it per record pays a short scan.
  const void* broadcast(std::uint64_t id, BroadcastDecoder decode) {
    // The one read last answers most calls: a task reading one broadcast per record pays a
    // compare (K-means read its centers 9% slower through a scan of this list than captured).
    if (id == last_broadcast_id_ && last_broadcast_ != nullptr) return last_broadcast_;
    const void* value = nullptr;
    for (const auto& [k, v] : broadcasts_read_)
      if (k == id) value = v.get();
    if (value == nullptr) {
      auto v = broadcasts_->broadcast_value(id, decode);
      value = v.get();
      broadcasts_read_.emplace_back(id, std::move(v));
    }
    last_broadcast_id_ = id;
    last_broadcast_ = value;
    return value;
  }

  /// This attempt's partial value of accumulator `id`, made by `make` on first use.
  template <class Partial, class Make>
  Partial& accumulator_partial(std::uint64_t id, Make&& make) {
    for (auto& [k, p] : partials_)
      if (k == id) return static_cast<Partial&>(*p);
    partials_.emplace_back(id, make());
    return static_cast<Partial&>(*partials_.back().second);
  }
  /// The accumulator updates of this attempt, saved for the driver.
  AccumulatorUpdates accumulator_updates() const;

 private:
  BlockStore& blocks_;
  int stage_;
  std::size_t partition_;
  int attempt_;
  std::vector<std::pair<std::string, std::uint64_t>> counters_;
  std::vector<std::pair<std::uint64_t, std::unique_ptr<AccumulatorPartial>>> partials_;
  std::vector<std::uint64_t> cached_;
  BucketFetcher* fetcher_ = nullptr;
  BroadcastSource* broadcasts_ = nullptr;
  const std::atomic<bool>* kill_ = nullptr;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const void>>> broadcasts_read_;
  std::uint64_t last_broadcast_id_ = 0;
  const void* last_broadcast_ = nullptr;  // kept alive by broadcasts_read_
};

// The task attempt running on this thread (see CurrentTaskScope). Declared here, constinit, so
// that reading it is one thread-local load inlined into a per-record broadcast read.
extern constinit thread_local TaskContext* tl_current_task;

/// The task attempt running on this thread, or nullptr outside tasks.
inline TaskContext* current_task() noexcept { return tl_current_task; }

/// Makes a task attempt current on this thread for its lifetime (scopes nest: a job started
/// inside a task runs its tasks inline).
class CurrentTaskScope {
 public:
  explicit CurrentTaskScope(TaskContext& tc) noexcept;
  ~CurrentTaskScope();
  CurrentTaskScope(const CurrentTaskScope&) = delete;
  CurrentTaskScope& operator=(const CurrentTaskScope&) = delete;

 private:
  TaskContext* previous_;
};

}  // namespace spate::detail
