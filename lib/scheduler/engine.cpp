// The engine: what one Context owns. It wires the block store, the backend (task threads of this
// process, or executors), the task scheduler and the DAG scheduler together, keeps the counters
// and accumulators that successful tasks report, and runs jobs for the threads that ask.
#include "spate/detail/engine.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include <ctime>

#include "events/event_log.hpp"
#include "events/job_events.hpp"
#include "events/live_status.hpp"
#include "events/progress_line.hpp"
#include "scheduler/backend.hpp"
#include "scheduler/task_loss.hpp"
#include "scheduler/context_cleaner.hpp"
#include "scheduler/dag_scheduler.hpp"
#include "scheduler/task_scheduler.hpp"
#include "ui/status_server.hpp"
#include "storage/memory_budget.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/checkpoint_files.hpp"
#include "spate/detail/graph_codec.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

// The driver's broadcast values: handed out in place to tasks of this process, and encoded once
// for executors that ask.
class BroadcastTable final : public BroadcastSource {
 public:
  std::uint64_t add(std::shared_ptr<const void> value, std::function<std::string()> encode) {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_++;
    entries_[id] = Entry{std::move(value), std::move(encode), std::nullopt};
    return id;
  }

  std::shared_ptr<const void> broadcast_value(
      std::uint64_t id, BroadcastDecoder) override {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end())
      throw error(id < next_ ? fmt::format("broadcast {} was destroyed", id)
                             : fmt::format("broadcast {} does not exist in this driver", id));
    return it->second.value;
  }

  // Returns whether it was there to remove.
  bool remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    return entries_.erase(id) > 0;
  }

  std::optional<std::string> bytes(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    if (!it->second.bytes) it->second.bytes = it->second.encode();
    return it->second.bytes;
  }

 private:
  struct Entry {
    std::shared_ptr<const void> value;
    std::function<std::string()> encode;
    std::optional<std::string> bytes;
  };
  std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, Entry> entries_;
};

}  // namespace

// "20261126T031500-4242": when and which process, for the event log's name and the page.
std::string make_app_id() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%M%S", &tm);
  return fmt::format("{}-{}", when, ::getpid());
}

namespace {

/// Throws config_error for a checkpoint directory checkpoints cannot be written to.
void check_checkpoint_dir(const std::string& dir) {
  if (dir.starts_with("s3://"))
    throw config_error("checkpoint directory '" + dir + "': checkpoints are written to a local or "
                       "shared file system; to hand a dataset over through S3, use "
                       "save_as_object_file and Context::object_file");
}

}  // namespace

struct Engine::Impl {
  explicit Impl(EngineConfig c) : config(std::move(c)) {
    check_checkpoint_dir(config.checkpoint_dir);
    checkpoint_dir = config.checkpoint_dir;
    blocks.set_budget(config.memory_budget ? config.memory_budget : default_memory_budget());
    bool cluster = config.master.starts_with("local-cluster[") || config.master.starts_with("spate://");
    Codec codec = config.shuffle_compression.value_or(Codec::lz4);
    blocks.set_compression(!cluster && !config.shuffle_compression ? Codec::none : codec, codec);
    std::string app = make_app_id();
    if (!config.event_log_dir.empty()) {
      event_log = std::make_shared<EventLog>(config.event_log_dir, app, config.master);
      app = event_log->app();
      bus.add(event_log);
    }
    LiveStatus::Driver driver{config.threads, blocks.budget(), [this] { return blocks.memory().used(); }};
    status = std::make_shared<LiveStatus>(app, config.master, driver, [this] {
      return backend_ready.load() ? backend->executors() : std::vector<ExecutorInfo>{};
    });
    bus.add(status);
    backend = cluster ? make_cluster_backend(config,
                                         [this](std::uint64_t id) {
                                           {
                                             std::lock_guard lock(counters_mutex);
                                             ++counters["broadcast.sent"];
                                           }
                                           return broadcasts.bytes(id);
                                         },
                                         bus)
                  : make_local_backend(blocks, config.threads, broadcasts);
    backend_ready = true;
    TaskSchedulerConfig tc;
    tc.max_task_attempts = config.max_task_attempts;
    tc.fair = config.fair_scheduler;
    tc.speculation = config.speculation && backend->ships_tasks();
    tasks = std::make_unique<TaskScheduler>(*backend, bus, tc, [this](TaskAttempt a) { record(std::move(a)); });
    cleaner = std::make_unique<ContextCleaner>(*backend);
    dag = std::make_unique<DagScheduler>(
        *backend, *tasks, bus, config.max_stage_attempts, tc.speculation,
        DagSchedulerHooks{[this](const TaskUpdates& u) { keep_updates(u); }, cleaner.get()});
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    if (config.ui) {
      try {
        server = std::make_unique<StatusServer>(
            config.ui_host, static_cast<std::uint16_t>(config.ui_port),
            [s = status](std::string_view path) { return s->api(path); },
            [this](std::string_view path) { return action(path); });
        if (terminal) std::fprintf(stderr, "spate: status page at %s\n", server->url().c_str());
      } catch (const std::exception& e) {
        // The page is a window on the job, not part of it: the job runs without it.
        std::fprintf(stderr, "spate: no status page: %s\n", e.what());
      }
    }
    if (config.progress && terminal) progress = std::make_unique<ProgressLine>(status);
  }

  EngineConfig config;
  // Declared before the backend, which tells them of executors as long as it lives.
  ListenerBus bus;
  std::shared_ptr<EventLog> event_log;
  std::shared_ptr<LiveStatus> status;
  BlockStore blocks;
  BroadcastTable broadcasts;
  std::unique_ptr<Backend> backend;
  std::atomic<bool> backend_ready{false};
  // Declared after the backend: they read it, so they stop first.
  std::unique_ptr<ProgressLine> progress;
  std::unique_ptr<StatusServer> server;
  std::atomic<std::uint64_t> next_node{1};
  mutable std::mutex checkpoint_mutex;
  std::string checkpoint_dir;  // set_checkpoint_dir
  // This engine's directory under it: the app id and a random part, since several Contexts of
  // one process may start within the same second and checkpoint into the same directory.
  std::string checkpoint_run = fmt::format("{}-{:08x}", make_app_id(), std::random_device{}());
  std::atomic<int> next_shuffle{0};
  mutable std::mutex counters_mutex;
  std::map<std::string, std::uint64_t> counters;
  mutable std::mutex accumulators_mutex;
  std::map<std::uint64_t, std::shared_ptr<AccumulatorBase>> accumulators;
  std::uint64_t next_accumulator = 1;
  mutable std::mutex attempts_mutex;
  std::deque<TaskAttempt> attempts;  // the latest kRetainedAttempts
  static constexpr std::size_t kRetainedAttempts = 100'000;
  std::mutex properties_mutex;
  std::map<std::thread::id, JobProperties> thread_properties;  // set_job_group, set_scheduler_pool
  // Declared last: they run tasks that use everything above, so they stop first (the DAG
  // scheduler, which cancels what runs, before the task threads).
  std::unique_ptr<ContextCleaner> cleaner;
  std::unique_ptr<TaskScheduler> tasks;
  std::unique_ptr<DagScheduler> dag;

  // POST /api/jobs/ID/cancel, from the status page's cancel button.
  std::optional<std::string> action(std::string_view path) {
    constexpr std::string_view prefix = "/api/jobs/", suffix = "/cancel";
    if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
    std::string_view digits = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    if (!dag) return std::nullopt;
    bool cancelled = dag->cancel_job(id, "cancelled from the status page");
    return fmt::format("{{\"job\":{},\"cancelled\":{}}}", id, cancelled);
  }

  JobProperties properties() {
    std::lock_guard lock(properties_mutex);
    auto it = thread_properties.find(std::this_thread::get_id());
    return it == thread_properties.end() ? JobProperties{} : it->second;
  }

  // Called after an attempt succeeded; a failed attempt's updates are dropped with it.
  void keep_updates(const TaskUpdates& u) {
    if (!u.counters.empty()) {
      std::lock_guard lock(counters_mutex);
      for (const auto& [name, n] : u.counters) counters[name] += n;
    }
    for (const auto& [id, bytes] : u.accumulators) {
      std::shared_ptr<AccumulatorBase> a;
      {
        std::lock_guard lock(accumulators_mutex);
        auto it = accumulators.find(id);
        if (it == accumulators.end()) continue;  // from another Context's handle: not ours
        a = it->second;
      }
      Reader in(bytes);
      a->merge_saved(in);
    }
  }

  void record(TaskAttempt a) {
    {
      static constexpr const char* kCounter[] = {"tasks.succeeded", "tasks.failed", "tasks.lost",
                                                 "tasks.fetch_failed", "tasks.killed"};
      std::lock_guard lock(counters_mutex);
      ++counters[kCounter[static_cast<int>(a.outcome)]];
    }
    std::lock_guard lock(attempts_mutex);
    attempts.push_back(std::move(a));
    if (attempts.size() > kRetainedAttempts) attempts.pop_front();
  }

};

Engine::Engine(EngineConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Engine::~Engine() {
  // Jobs end (cancelled) and task threads stop before anything they use goes; the status page
  // first, whose cancel button reaches the DAG scheduler.
  impl_->server.reset();
  impl_->dag.reset();
  impl_->tasks.reset();
  if (!impl_->config.print_metrics) return;
  std::string line = "spate metrics:";
  std::lock_guard lock(impl_->counters_mutex);
  for (const auto& [name, n] : impl_->counters) line += fmt::format(" {}={}", name, n);
  std::fprintf(stderr, "%s\n", line.c_str());
}

const EngineConfig& Engine::config() const noexcept { return impl_->config; }
std::size_t Engine::default_parallelism() const noexcept {
  return std::max<std::size_t>(1, impl_->backend->slots());
}
std::uint64_t Engine::next_node_id() noexcept { return impl_->next_node++; }
int Engine::next_shuffle_id() noexcept { return impl_->next_shuffle++; }
BlockStore& Engine::block_store() noexcept { return impl_->blocks; }

std::vector<TaskAttempt> Engine::task_attempts() const {
  std::lock_guard lock(impl_->attempts_mutex);
  return {impl_->attempts.begin(), impl_->attempts.end()};
}

std::vector<ExecutorInfo> Engine::executors() const { return impl_->backend->executors(); }

void Engine::track_cached(const std::shared_ptr<NodeBase>& node) { impl_->cleaner->track(node); }

void Engine::set_checkpoint_dir(std::string dir) {
  check_checkpoint_dir(dir);
  std::lock_guard lock(impl_->checkpoint_mutex);
  impl_->checkpoint_dir = std::move(dir);
}

std::string Engine::checkpoint_dir() const {
  std::lock_guard lock(impl_->checkpoint_mutex);
  return impl_->checkpoint_dir;
}

std::string Engine::checkpoint_path(std::uint64_t node_id) const {
  std::lock_guard lock(impl_->checkpoint_mutex);
  if (impl_->checkpoint_dir.empty())
    throw error("checkpoint() needs a checkpoint directory: set one with Context::set_checkpoint_dir "
                "or --checkpoint-dir DIR (in cluster modes, on a file system every executor shares)");
  return detail::checkpoint_path(impl_->checkpoint_dir, impl_->checkpoint_run, node_id);
}

void Engine::drop_cached(std::uint64_t node_id) {
  impl_->blocks.drop_cached(node_id);
  impl_->backend->drop_cached(node_id);
}

std::uint64_t Engine::counter(const std::string& name) const {
  std::lock_guard lock(impl_->counters_mutex);
  auto it = impl_->counters.find(name);
  return it == impl_->counters.end() ? 0 : it->second;
}

std::uint64_t Engine::add_accumulator(std::shared_ptr<AccumulatorBase> accumulator) {
  std::lock_guard lock(impl_->accumulators_mutex);
  std::uint64_t id = impl_->next_accumulator++;
  impl_->accumulators[id] = std::move(accumulator);
  return id;
}

std::shared_ptr<AccumulatorBase> Engine::accumulator(std::uint64_t id) const {
  std::lock_guard lock(impl_->accumulators_mutex);
  auto it = impl_->accumulators.find(id);
  if (it == impl_->accumulators.end())
    throw error(fmt::format("accumulator {} does not exist in this Context", id));
  return it->second;
}

std::uint64_t Engine::add_broadcast(std::shared_ptr<const void> value, std::function<std::string()> encode) {
  return impl_->broadcasts.add(std::move(value), std::move(encode));
}

BroadcastSource& Engine::broadcasts() noexcept { return impl_->broadcasts; }

void Engine::destroy_broadcast(std::uint64_t id) {
  if (impl_->broadcasts.remove(id)) impl_->backend->remove_broadcast(id);
}

std::shared_ptr<JobControl> Engine::submit_job(const std::shared_ptr<NodeBase>& node, ResultHandler& handler,
                                               const std::vector<std::size_t>& partitions,
                                               std::shared_ptr<void> keep_alive) {
  return impl_->dag->submit(node, handler, partitions, std::move(keep_alive), impl_->properties());
}

void Engine::run_job(const std::shared_ptr<NodeBase>& node, ResultHandler& handler,
                     const std::vector<std::size_t>& partitions) {
  auto job = submit_job(node, handler, partitions, nullptr);
  job->wait();
  job->rethrow_if_failed();
}

void Engine::set_job_group(std::string group, std::string description) {
  std::lock_guard lock(impl_->properties_mutex);
  auto& p = impl_->thread_properties[std::this_thread::get_id()];
  p.group = std::move(group);
  p.description = std::move(description);
}

void Engine::set_scheduler_pool(std::string pool) {
  std::lock_guard lock(impl_->properties_mutex);
  impl_->thread_properties[std::this_thread::get_id()].pool = pool.empty() ? "default" : std::move(pool);
}

void Engine::clear_thread_properties() {
  std::lock_guard lock(impl_->properties_mutex);
  impl_->thread_properties.erase(std::this_thread::get_id());
}

std::size_t Engine::cancel_job_group(const std::string& group) {
  return impl_->dag->cancel_group(group, fmt::format("its job group {} was cancelled", group));
}

std::size_t Engine::cancel_all(const std::string& reason) { return impl_->dag->cancel_all(reason); }

bool Engine::cancel_job(std::uint64_t id, const std::string& reason) { return impl_->dag->cancel_job(id, reason); }

std::string Engine::status_url() const { return impl_->server ? impl_->server->url() : ""; }

std::string Engine::event_log_path() const { return impl_->event_log ? impl_->event_log->path() : ""; }

}  // namespace spate::detail
