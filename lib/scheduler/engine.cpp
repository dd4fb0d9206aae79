// The engine and its DAG scheduler.
//
// A job asks for partitions of a node. The scheduler walks the node's narrow parents to find the
// shuffle dependencies the job's stage reads; each shuffle is the end of a map stage, whose own
// narrow lineage may end at further shuffles, and so on. Stages are identified by their shuffle,
// so a shuffle whose outputs all exist in the block store (written by an earlier job) is reused,
// and only missing map partitions are computed. Parent stages run before their children; within
// a stage, one task per partition runs on the task threads. The result stage then runs the
// action's handler on the requested partitions.
#include "spate/detail/engine.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <unistd.h>

#include <ctime>

#include "events/event_log.hpp"
#include "events/job_events.hpp"
#include "events/live_status.hpp"
#include "events/progress_line.hpp"
#include "scheduler/backend.hpp"
#include "scheduler/task_loss.hpp"
#include "scheduler/task_runner.hpp"
#include "ui/status_server.hpp"
#include "storage/memory_budget.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/graph_codec.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

// Shuffles read by the stage ending at `node`: reached through narrow parents only.
std::vector<std::shared_ptr<ShuffleDependencyBase>> stage_shuffles(const NodeBase& node) {
  std::vector<std::shared_ptr<ShuffleDependencyBase>> out;
  std::set<const NodeBase*> seen;
  std::set<int> seen_shuffles;
  std::vector<const NodeBase*> todo{&node};
  while (!todo.empty()) {
    const NodeBase* n = todo.back();
    todo.pop_back();
    if (!seen.insert(n).second) continue;
    for (const auto& d : n->shuffle_dependencies())
      if (seen_shuffles.insert(d->shuffle_id()).second) out.push_back(d);
    for (const auto& p : n->narrow_parents()) todo.push_back(p.get());
  }
  return out;
}

// "reduce_by_key <- map <- text_file": the operators a stage's tasks run, last first.
std::string stage_name(const NodeBase& node) {
  std::string name = node.name();
  const NodeBase* n = &node;
  int shown = 1;
  while (!n->narrow_parents().empty() && shown < 6) {
    n = n->narrow_parents().front().get();
    name += " <- " + n->name();
    ++shown;
  }
  if (!n->narrow_parents().empty()) name += " <- ...";
  return name;
}

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
    if (it == entries_.end()) throw error(fmt::format("broadcast {} does not exist in this driver", id));
    return it->second.value;
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

struct Engine::Impl {
  explicit Impl(EngineConfig c) : config(std::move(c)) {
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
    bool terminal = ::isatty(STDERR_FILENO) == 1;
    if (config.ui) {
      try {
        server = std::make_unique<StatusServer>(config.ui_host, static_cast<std::uint16_t>(config.ui_port),
                                                [s = status](std::string_view path) { return s->api(path); });
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
  std::atomic<int> next_shuffle{0};
  std::atomic<int> next_stage{0};
  mutable std::mutex counters_mutex;
  std::map<std::string, std::uint64_t> counters;
  std::mutex stage_ids_mutex;
  std::map<int, int> stage_of_shuffle;  // shuffle id -> stable stage id
  mutable std::mutex accumulators_mutex;
  std::map<std::uint64_t, std::shared_ptr<AccumulatorBase>> accumulators;
  std::uint64_t next_accumulator = 1;
  mutable std::mutex attempts_mutex;
  std::vector<TaskAttempt> attempts;
  std::mutex shuffle_mutexes_mutex;
  std::map<int, std::unique_ptr<std::mutex>> shuffle_mutexes;
  std::atomic<std::uint64_t> next_job{1};
  std::mutex submissions_mutex;
  std::map<std::pair<std::uint64_t, int>, int> submissions;  // (job, stage) -> times submitted

  // Runs one submission of a stage's tasks, telling the listeners when it starts and ends.
  void run_stage(std::uint64_t job, int stage, int shuffle, const std::string& name, std::size_t tasks,
                 std::size_t partitions, std::vector<int> parents, const std::function<void()>& run) {
    int attempt;
    {
      std::lock_guard lock(submissions_mutex);
      attempt = ++submissions[{job, stage}];
    }
    std::int64_t start = now_ms();
    bus.on_stage_submitted({job, stage, shuffle, name, tasks, partitions, std::move(parents), attempt, start});
    try {
      run();
    } catch (const std::exception& e) {
      std::int64_t end = now_ms();
      bus.on_stage_completed({job, stage, attempt, end, end - start, false, e.what()});
      throw;
    }
    std::int64_t end = now_ms();
    bus.on_stage_completed({job, stage, attempt, end, end - start, true, ""});
  }

  // Every stage of the DAG ending at `node`, whose result stage is `result_stage`: parents first.
  std::vector<StagePlan> plan(const NodeBase& node, int result_stage) {
    std::vector<StagePlan> out;
    std::set<int> seen;
    std::function<void(const ShuffleDependencyBase&)> visit = [&](const ShuffleDependencyBase& d) {
      if (!seen.insert(d.shuffle_id()).second) return;
      auto parents = stage_shuffles(*d.parent());
      for (const auto& p : parents) visit(*p);
      out.push_back({stage_id_for(d.shuffle_id()), d.shuffle_id(),
                     fmt::format("shuffle {} <- {}", d.shuffle_id(), stage_name(*d.parent())),
                     d.parent()->num_partitions(), stage_ids(parents)});
    };
    auto shuffles = stage_shuffles(node);
    for (const auto& d : shuffles) visit(*d);
    out.push_back({result_stage, -1, stage_name(node), node.num_partitions(), stage_ids(shuffles)});
    return out;
  }

  std::vector<int> stage_ids(const std::vector<std::shared_ptr<ShuffleDependencyBase>>& shuffles) {
    std::vector<int> out;
    for (const auto& d : shuffles) out.push_back(stage_id_for(d->shuffle_id()));
    return out;
  }

  // Re-runs of one attempt after its executor was lost, before it counts as a failed attempt.
  static constexpr int kMaxLostRuns = 8;

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

  int stage_id_for(int shuffle_id) {
    std::lock_guard lock(stage_ids_mutex);
    auto [it, inserted] = stage_of_shuffle.try_emplace(shuffle_id, 0);
    if (inserted) it->second = next_stage++;
    return it->second;
  }

  TaskRunner runner() { return TaskRunner(std::max<std::size_t>(1, backend->slots()), config.max_task_attempts); }

  static std::vector<std::pair<int, std::size_t>> reads(const NodeBase& node) {
    std::vector<std::pair<int, std::size_t>> out;
    for (const auto& d : stage_shuffles(node)) out.emplace_back(d->shuffle_id(), d->num_maps());
    return out;
  }

  // Cached nodes a stage's tasks read, reached through narrow parents (only a hint for placing
  // tasks: a coalesce or union between maps partitions differently, which costs locality only).
  static std::vector<std::uint64_t> cached_in_stage(const NodeBase& node) {
    std::vector<std::uint64_t> out;
    std::set<const NodeBase*> seen;
    std::vector<const NodeBase*> todo{&node};
    while (!todo.empty()) {
      const NodeBase* n = todo.back();
      todo.pop_back();
      if (!seen.insert(n).second) continue;
      if (n->cached()) {
        out.push_back(n->id());
        continue;  // its parents are not read while its blocks are there
      }
      for (const auto& p : n->narrow_parents()) todo.push_back(p.get());
    }
    return out;
  }

  // Runs one attempt of a task through `call`, recording how it ended. An attempt lost with its
  // executor runs again (not counted against the task's attempts); one that could not fetch a
  // block first has the missing map outputs recomputed from lineage. Other errors propagate to
  // the TaskRunner, which counts and retries them.
  TaskUpdates run_attempt(std::uint64_t job, const TaskSpec& spec, int shuffle,
                          const std::vector<std::shared_ptr<ShuffleDependencyBase>>& reads,
                          const std::function<TaskUpdates(const TaskSpec&)>& call) {
    using Outcome = TaskAttempt::Outcome;
    for (int lost = 0;; ++lost) {
      TaskSpec launched = spec;
      std::int64_t start = now_ms();
      std::string executor;
      launched.on_launch = [&](const std::string& where) {
        start = now_ms();
        executor = where;
        bus.on_task_started({job, spec.stage, spec.partition, spec.attempt, where, start});
      };
      auto record = [&](TaskAttempt a, Counters counters = {}) {
        if (a.executor.empty()) a.executor = executor;
        std::int64_t end = now_ms();
        bus.on_task_ended({a, end, end - start, std::move(counters)});
        this->record(std::move(a));
      };
      try {
        TaskUpdates u = call(launched);
        record({job, spec.stage, shuffle, spec.partition, spec.attempt, u.executor, Outcome::succeeded, ""},
               u.counters);
        return u;
      } catch (const fetch_failure& f) {
        record({job, spec.stage, shuffle, spec.partition, spec.attempt, f.executor(), Outcome::fetch_failed, f.what()});
        if (lost >= kMaxLostRuns) throw;
        bool known = false;
        for (const auto& d : reads)
          if (d->shuffle_id() == f.shuffle()) {
            ensure_shuffle(*d, job, true);
            known = true;
          }
        if (!known)
          for (const auto& d : reads) ensure_shuffle(*d, job, true);
      } catch (const task_lost& l) {
        record({job, spec.stage, shuffle, spec.partition, spec.attempt, l.executor(), Outcome::lost, l.what()});
        if (lost >= kMaxLostRuns) throw;
      } catch (const std::exception& e) {
        record({job, spec.stage, shuffle, spec.partition, spec.attempt, "", Outcome::failed, e.what()});
        throw;
      }
    }
  }

  void record(TaskAttempt a) {
    {
      static constexpr const char* kCounter[] = {"tasks.succeeded", "tasks.failed", "tasks.lost",
                                                 "tasks.fetch_failed"};
      std::lock_guard lock(counters_mutex);
      ++counters[kCounter[static_cast<int>(a.outcome)]];
    }
    std::lock_guard lock(attempts_mutex);
    attempts.push_back(std::move(a));
  }

  std::mutex& shuffle_mutex(int shuffle_id) {
    std::lock_guard lock(shuffle_mutexes_mutex);
    auto& m = shuffle_mutexes[shuffle_id];
    if (!m) m = std::make_unique<std::mutex>();
    return *m;
  }

  // Makes every map output of `dep` exist, computing parent stages first. Outputs lost while the
  // stage runs (their executor died) are computed again, up to max_stage_attempts rounds. One
  // thread at a time per shuffle: tasks that all found the same output missing recompute it once.
  // `recovering`: called from a task thread to replace lost outputs, so the map tasks get
  // threads of their own rather than running inline as a user's nested job does.
  void ensure_shuffle(const ShuffleDependencyBase& dep, std::uint64_t job, bool recovering = false) {
    std::lock_guard hold(shuffle_mutex(dep.shuffle_id()));
    const NodeBase& parent = *dep.parent();
    int stage = stage_id_for(dep.shuffle_id());
    for (int round = 0;; ++round) {
      std::vector<std::size_t> missing;
      for (std::size_t p = 0; p < parent.num_partitions(); ++p)
        if (!backend->has_map_output(dep.shuffle_id(), p)) missing.push_back(p);
      if (missing.empty()) return;
      if (round >= config.max_stage_attempts)
        throw job_error(fmt::format("job failed: stage {} (shuffle {} <- {}) lost map outputs {} "
                                    "times; {} of its {} map partitions are still missing",
                                    stage, dep.shuffle_id(), stage_name(parent), round,
                                    missing.size(), parent.num_partitions()),
                        "map outputs lost", stage, missing.front(), round);
      auto parents = stage_shuffles(parent);
      for (const auto& d : parents) ensure_shuffle(*d, job, recovering);
      std::string bytes;
      if (backend->ships_tasks()) {
        Writer w;
        GraphWriter g(w);
        g.shuffle(dep);
        bytes = std::move(w).take();
      }
      auto read = reads(parent);
      auto cached = cached_in_stage(parent);
      std::string name = fmt::format("shuffle {} <- {}", dep.shuffle_id(), stage_name(parent));
      run_stage(job, stage, dep.shuffle_id(), name, missing.size(), parent.num_partitions(), stage_ids(parents),
                [&] {
                  TaskRunner(std::max<std::size_t>(1, backend->slots()), config.max_task_attempts, !recovering)
                      .run(
                          missing.size(),
                          [&](std::size_t i, int attempt) {
                            TaskSpec spec{stage, missing[i], attempt, backend->ships_tasks() ? &bytes : nullptr,
                                          read, cached, {}};
                            keep_updates(run_attempt(job, spec, dep.shuffle_id(), parents,
                                                     [&](const TaskSpec& s) { return backend->run_map(dep, s); }));
                          },
                          stage, name, [&](std::size_t i) { return missing[i]; });
                });
    }
  }
};

Engine::Engine(EngineConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Engine::~Engine() {
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
  return impl_->attempts;
}

std::vector<ExecutorInfo> Engine::executors() const { return impl_->backend->executors(); }

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

void Engine::run_job(const std::shared_ptr<NodeBase>& node, ResultHandler& handler,
                     const std::vector<std::size_t>& partitions) {
  std::vector<std::size_t> parts = partitions;
  if (parts.empty() && node->num_partitions() > 0) {
    parts.resize(node->num_partitions());
    for (std::size_t p = 0; p < parts.size(); ++p) parts[p] = p;
  }
  std::uint64_t job = impl_->next_job++;
  std::int64_t start = now_ms();
  // Map stages take their ids first (parents first), so that ids follow the DAG's order.
  auto stages = impl_->plan(*node, -1);
  int stage = impl_->next_stage++;
  stages.back().stage = stage;
  impl_->bus.on_job_started({job, stage_name(*node), parts.size(), start, std::move(stages)});
  auto ended = [&](bool ok, std::string error) {
    std::int64_t end = now_ms();
    impl_->bus.on_job_ended({job, end, end - start, ok, std::move(error)});
  };
  try {
    auto shuffles = stage_shuffles(*node);
    for (const auto& d : shuffles) impl_->ensure_shuffle(*d, job);
    std::string bytes;
    if (impl_->backend->ships_tasks()) {
      Writer w;
      GraphWriter g(w);
      write_registered(g, handler);
      bytes = std::move(w).take();
    }
    auto read = Impl::reads(*node);
    auto cached = Impl::cached_in_stage(*node);
    std::string name = stage_name(*node);
    impl_->run_stage(job, stage, -1, name, parts.size(), node->num_partitions(), impl_->stage_ids(shuffles), [&] {
      impl_->runner().run(
          parts.size(),
          [&](std::size_t i, int attempt) {
            TaskSpec spec{stage, parts[i], attempt, impl_->backend->ships_tasks() ? &bytes : nullptr,
                          read, cached, {}};
            impl_->keep_updates(impl_->run_attempt(job, spec, -1, shuffles, [&](const TaskSpec& s) {
              return impl_->backend->run_result(handler, s);
            }));
          },
          stage, name, [&](std::size_t i) { return parts[i]; });
    });
    handler.job_succeeded();
  } catch (const std::exception& e) {
    handler.job_failed();
    ended(false, e.what());
    throw;
  } catch (...) {
    handler.job_failed();
    ended(false, "unknown error");
    throw;
  }
  ended(true, "");
}

std::string Engine::status_url() const { return impl_->server ? impl_->server->url() : ""; }

std::string Engine::event_log_path() const { return impl_->event_log ? impl_->event_log->path() : ""; }

}  // namespace spate::detail
