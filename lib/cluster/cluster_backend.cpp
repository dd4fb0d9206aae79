// The cluster backend: the driver's side of executor processes.
//
// The driver listens for executors (net::Server). An executor registers with its id, cores,
// block server address and executable fingerprint; a different build is refused, naming both.
// A task attempt takes a free slot on a live executor (waiting while none is free), is sent as a
// launch_task frame carrying its stage's bytes and the addresses of the map outputs it reads,
// and blocks its scheduler thread until the executor answers. The driver remembers which
// executor holds each map output; an executor whose connection closes takes its running tasks
// (they fail and are retried elsewhere) and its map outputs with it.
// With local-cluster[N] the driver starts N executors, copies of its own executable, that die
// with it (PR_SET_PDEATHSIG, and their connection's end).
#include <fmt/format.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <thread>

#include "cluster/executor.hpp"
#include "cluster/fingerprint.hpp"
#include "cluster/protocol.hpp"
#include "net/auth.hpp"
#include "net/connection.hpp"
#include "net/net_error.hpp"
#include "events/job_events.hpp"
#include "scheduler/backend.hpp"
#include "scheduler/task_loss.hpp"
#include "storage/memory_budget.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/error.hpp"

extern char** environ;

namespace spate::detail {

using namespace std::chrono_literals;

namespace {

// How long a task waits for a slot on the executor that holds a cached partition it reads.
constexpr auto kLocalityWait = 500ms;

// How long a killed task's executor has to report that it stopped.
constexpr auto kKillWait = 2s;

std::string hex_secret() {
  auto nonce = net::fresh_nonce();
  std::string out;
  for (auto b : nonce) out += fmt::format("{:02x}", static_cast<unsigned>(static_cast<unsigned char>(b)));
  return out;
}

// How long a local-cluster driver waits, once an executor's connection closed, for the process
// to be reapable: a process closes its sockets on its way out, a moment before its exit status
// is there to read.
constexpr auto kExitStatusWait = 1s;

// Shown with a task whose executor died of a crash signal: the usual cause is a function that
// captured the driver's memory by reference or pointer, meaningless in another process.
constexpr std::string_view kCaptureHint =
    "functions passed to operators run in executor processes: capture values, not references or "
    "pointers";

// Signals by which a process's own code ends it (a bad access, abort()), as opposed to one sent
// from outside (SIGKILL by the OOM killer or a user, SIGTERM).
bool crash_signal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT ||
         sig == SIGSYS || sig == SIGTRAP;
}

// "died of SIGSEGV (Segmentation fault)", "exited with status 3", from a waitpid status.
std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    const char* text = ::sigdescr_np(sig);
    std::string name = abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
    return text ? fmt::format("died of {} ({})", name, text) : fmt::format("died of {}", name);
  }
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return fmt::format("ended (wait status {:#x})", status);
}

// local-cluster[N] or local-cluster[N,C]: N executors of C cores.
std::pair<std::size_t, std::size_t> parse_local_cluster(const std::string& master) {
  std::string_view inside(master);
  inside.remove_prefix(std::string_view("local-cluster[").size());
  inside.remove_suffix(1);
  std::size_t n = 0, c = 1;
  auto comma = inside.find(',');
  std::string_view ns = inside.substr(0, comma);
  auto r1 = std::from_chars(ns.data(), ns.data() + ns.size(), n);
  bool ok = r1.ec == std::errc{} && r1.ptr == ns.data() + ns.size() && n > 0 && n <= 64;
  if (comma != std::string_view::npos) {
    std::string_view cs = inside.substr(comma + 1);
    auto r2 = std::from_chars(cs.data(), cs.data() + cs.size(), c);
    ok = ok && r2.ec == std::errc{} && r2.ptr == cs.data() + cs.size() && c > 0 && c <= 256;
  }
  if (!ok)
    throw config_error(fmt::format(
        "--master {}: expected local-cluster[N] or local-cluster[N,CORES] (N from 1 to 64)", master));
  return {n, c};
}

class ClusterBackend final : public Backend {
 public:
  ClusterBackend(const EngineConfig& config, BroadcastBytes broadcasts, JobListener& events)
      : config_(config), broadcasts_(std::move(broadcasts)), events_(events) {
    bool local_cluster = config.master.starts_with("local-cluster[");
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    if (local_cluster) {
      secret_ = hex_secret();  // known to this driver and the executors it starts, nobody else
    } else {
      std::tie(host, port) = parse_spate_url(config.master);
      secret_ = net::load_secret();
      if (secret_.empty() && !net::is_loopback_host(host)) {
        std::fprintf(stderr,
                     "spate: no cluster secret (SPATE_SECRET or SPATE_SECRET_FILE) is set, so the "
                     "driver listens on 127.0.0.1 only, not on %s\n",
                     host.c_str());
        host = "127.0.0.1";
      }
    }
    net::ServerOptions so;
    so.host = host;
    so.port = port;
    so.secret = secret_;
    // An executor that stops talking (its host dropped off the network, or it hangs) is closed
    // and taken for lost; live executors send heartbeats well within this.
    so.idle_timeout = config.heartbeat_timeout;
    net::ServerHandlers h;
    h.on_frame = [this](const std::shared_ptr<net::Connection>& c, net::Frame&& f) { on_frame(c, std::move(f)); };
    h.on_closed = [this](const std::shared_ptr<net::Connection>& c, const std::string& why) { on_closed(c, why); };
    server_ = std::make_unique<net::Server>(so, h);
    url_ = fmt::format("spate://{}:{}", host, server_->port());
    std::size_t initial = 0;
    if (local_cluster) {
      auto [n, cores] = parse_local_cluster(config.master);
      initial = n;
      local_cluster_ = true;
      cores_per_executor_ = cores;
      memory_per_executor_ = config.memory_budget ? config.memory_budget : default_memory_budget(n);
      to_spawn_ = n;
    }
    keeper_ = std::jthread([this](std::stop_token stop) { keep(stop); });
    if (local_cluster) {
      wait_for_executors(initial, 60s);
    } else {
      wait_for_executors(std::max<std::size_t>(1, config.min_executors), config.executor_wait);
    }
  }

  ~ClusterBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (auto& [id, e] : executors_)
        if (e.alive) {
          try {
            e.conn->send(net::FrameType::shutdown, "driver finished");
          } catch (...) {
          }
        }
    }
    keeper_.request_stop();
    cv_.notify_all();
    if (keeper_.joinable()) keeper_.join();
    server_->stop();
    reap_children();
  }

  bool ships_tasks() const noexcept override { return true; }

  std::vector<ExecutorInfo> executors() override {
    std::lock_guard lock(mutex_);
    std::vector<ExecutorInfo> out;
    for (const auto& [id, e] : executors_)
      out.push_back({id, e.pid, e.block_address, e.cores, e.alive, e.memory_used, e.memory_budget});
    return out;
  }

  void drop_cached(std::uint64_t node_id) override {
    std::lock_guard lock(mutex_);
    for (auto it = cached_at_.begin(); it != cached_at_.end();)
      it = it->first.first == node_id ? cached_at_.erase(it) : std::next(it);
    tell_all({protocol::RemoveBlocks::Kind::cached, node_id});
  }

  void remove_shuffle(int shuffle) override {
    std::lock_guard lock(mutex_);
    auto it = map_outputs_.lower_bound({shuffle, 0});
    while (it != map_outputs_.end() && it->first.first == shuffle) it = map_outputs_.erase(it);
    tell_all({protocol::RemoveBlocks::Kind::shuffle, static_cast<std::uint64_t>(shuffle)});
  }

  void shuffle_idle(int shuffle) override {
    std::lock_guard lock(mutex_);
    tell_all({protocol::RemoveBlocks::Kind::idle_shuffle, static_cast<std::uint64_t>(shuffle)});
  }

  void remove_broadcast(std::uint64_t id) override {
    std::lock_guard lock(mutex_);
    tell_all({protocol::RemoveBlocks::Kind::broadcast, id});
  }

  std::size_t slots() override {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [id, e] : executors_)
      if (e.alive) n += e.cores;
    return n;
  }

  bool has_map_output(int shuffle, std::size_t m) override {
    std::lock_guard lock(mutex_);
    return map_outputs_.count({shuffle, m}) > 0;
  }

  TaskUpdates run_map(const ShuffleDependencyBase& dep, const TaskSpec& spec) override {
    auto [executor, result] = execute(true, spec);
    std::lock_guard lock(mutex_);
    // The executor may have been lost between its answer and now: its output went with it.
    if (!executors_.at(executor).alive)
      throw task_lost(fmt::format("executor {} was lost after finishing the task", executor), executor);
    map_outputs_[{dep.shuffle_id(), spec.partition}] = MapStatus{executor, std::move(result.bucket_sizes)};
    for (auto node : result.cached) cached_at_[{node, spec.partition}] = executor;
    return {std::move(result.counters), std::move(result.accumulators), executor};
  }

  TaskUpdates run_result(ResultHandler&, const TaskSpec& spec) override {
    auto [executor, result] = execute(false, spec);
    {
      std::lock_guard lock(mutex_);
      for (auto node : result.cached) cached_at_[{node, spec.partition}] = executor;
    }
    return {std::move(result.counters), std::move(result.accumulators), executor, std::move(result.result)};
  }

  void kill_task(std::uint64_t task_id) override {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(task_id);
    if (it == pending_.end() || it->second.done) return;
    it->second.killed = true;
    cv_.notify_all();
    auto e = executors_.find(it->second.executor);
    if (e == executors_.end() || !e->second.alive) return;
    try {
      e->second.conn->send(net::FrameType::kill_task, protocol::encode(protocol::KillTask{task_id}));
    } catch (const std::exception&) {
      // Its connection is gone; so is the task.
    }
  }

 private:
  struct Executor {
    std::string id;
    std::shared_ptr<net::Connection> conn;
    std::string block_address;
    std::size_t cores = 1;
    std::size_t busy = 0;
    bool alive = true;
    std::uint64_t pid = 0;
    std::uint64_t memory_used = 0;  // as of its last heartbeat
    std::uint64_t memory_budget = 0;
  };
  struct Pending {
    std::string executor;
    bool done = false;
    bool ok = false;
    bool input_error = false;
    bool lost = false;  // its executor was lost
    bool killed = false;  // the scheduler stopped it; the executor's slot frees when it answers
    bool answered = false;  // the executor reported on it
    std::optional<protocol::Failure> fetch;  // it could not fetch a block
    std::string error;
    protocol::Result result;
  };

  // Sends one attempt to a free executor slot and waits for its outcome.
  std::pair<std::string, protocol::Result> execute(bool is_map, const TaskSpec& spec) {
    protocol::Launch l;
    l.is_map = is_map;
    l.stage = spec.stage;
    l.partition = spec.partition;
    l.attempt = spec.attempt;
    std::unique_lock lock(mutex_);
    for (const auto& [shuffle, maps] : spec.shuffles_read) {
      protocol::ShuffleLocations where{shuffle, {}, {}};
      for (std::size_t m = 0; m < maps; ++m) {
        auto it = map_outputs_.find({shuffle, m});
        if (it == map_outputs_.end() || !executors_.at(it->second.executor).alive)
          throw fetch_failure(fmt::format("shuffle {} map partition {} has no live output", shuffle, m),
                              shuffle, m, it == map_outputs_.end() ? "" : it->second.executor);
        where.addresses.push_back(executors_.at(it->second.executor).block_address);
        // Sizes of the bucket of the task's own partition, the one a reducer reads (a task
        // that reads another, through a union or coalesce, fetches without them).
        if (where.sizes.size() == m && spec.partition < it->second.sizes.size())
          where.sizes.push_back(it->second.sizes[spec.partition]);
      }
      if (where.sizes.size() != maps) where.sizes.clear();
      l.shuffles.push_back(std::move(where));
    }
    Executor* e = nullptr;
    auto none_alive = [&] {
      for (const auto& [id, x] : executors_)
        if (x.alive) return false;
      return true;
    };
    auto killed = [&] { return spec.kill && spec.kill->load(); };
    if (!spec.pinned_nodes.empty()) {
      // A local checkpoint's partition exists on one executor only: run there or not at all.
      Executor* home = holder_of(spec.pinned_nodes, spec.partition);
      if (!home)
        throw error(fmt::format(
            "partition {} of local checkpoint {} was lost with its executor: local_checkpoint() "
            "keeps a partition only in the memory of the executor that computed it; use "
            "checkpoint(), which writes to a checkpoint directory, to survive executor loss",
            spec.partition, spec.pinned_nodes.front()));
      if (spec.speculative) throw task_not_launched("a local checkpoint's partition is on one executor only");
      if (!cv_.wait_for(lock, config_.executor_wait, [&] {
            return !home->alive || home->busy < home->cores || stopping_ || killed();
          }))
        throw error(fmt::format("executor {}, which holds partition {} of local checkpoint {}, had no "
                                "free task slot within {} s",
                                home->id, spec.partition, spec.pinned_nodes.front(),
                                config_.executor_wait.count() / 1000));
      if (killed()) throw task_killed("task killed before it was launched");
      if (!home->alive || stopping_)
        throw task_lost(fmt::format("executor {} was lost before the task was launched", home->id), home->id);
      e = home;
    }
    if (!e && spec.speculative) {
      // A copy of a slow task is worth running only elsewhere, and only now.
      e = free_executor(spec.avoid_executor);
      if (!e) throw task_not_launched(fmt::format("no executor but {} had a free slot", spec.avoid_executor));
    }
    // An executor holding a cached partition the task reads is worth a short wait for a slot
    // (Spark's locality wait): elsewhere the partition is computed again.
    if (Executor* home = e ? nullptr : holder_of_cached(spec)) {
      cv_.wait_for(lock, kLocalityWait,
                   [&] { return !home->alive || home->busy < home->cores || stopping_ || killed(); });
      if (home->alive && home->busy < home->cores) e = home;
    }
    if (!e && (!cv_.wait_for(lock, config_.executor_wait,
                             [&] {
                               return (e = free_executor()) != nullptr || stopping_ ||
                                      (none_alive() && !replacements_coming()) || killed();
                             }) ||
               e == nullptr)) {
      if (killed()) throw task_killed("task killed before it was launched");
      if (!none_alive())
        throw error(fmt::format("no executor had a free task slot within {} s",
                                config_.executor_wait.count() / 1000));
      std::string last = last_loss_.empty() ? "" : fmt::format("; the last: {}", last_loss_);
      if (local_cluster_ && restarts_ >= config_.max_executor_restarts)
        throw error(fmt::format("every executor has been lost, and none is started in place of a lost one "
                                "any more (--executor-restarts {}){}",
                                config_.max_executor_restarts, last));
      throw error(fmt::format("every executor has been lost{}", last));
    }
    if (killed()) throw task_killed("task killed before it was launched");
    // The scheduler's id, so that kill_task finds the attempt; unique in this driver.
    l.task_id = spec.task_id ? spec.task_id : next_task_++;
    l.stage_bytes = *spec.stage_bytes;
    Pending& p = pending_[l.task_id];
    p.executor = e->id;
    e->busy++;
    auto conn = e->conn;
    std::string chosen = e->id;
    std::string payload = protocol::encode(l);
    lock.unlock();
    if (spec.on_launch) spec.on_launch(chosen);
    try {
      conn->send(net::FrameType::launch_task, payload);
    } catch (const std::exception& x) {
      // Its connection is gone: lose the executor now, before another task picks it (its
      // on_closed may come later).
      lock.lock();
      std::string why = fmt::format("sending a task to it failed: {}", x.what());
      lose(pending_.at(l.task_id).executor, why);
      finish(l.task_id, false, why, false, true);
      lock.unlock();
    }
    lock.lock();
    // A killed task has a moment to stop and clean up (its spill files) on its executor, so that
    // a cancelled job is over when it says so; one that does not answer in time (its executor
    // hangs) is left behind, its slot taken until the executor answers or is lost.
    cv_.wait(lock, [&] { return pending_.at(l.task_id).done || pending_.at(l.task_id).killed; });
    if (!pending_.at(l.task_id).done &&
        !cv_.wait_for(lock, kKillWait, [&] { return pending_.at(l.task_id).done; }))
      finish(l.task_id, false, "task killed");
    Pending done = std::move(pending_.at(l.task_id));
    pending_.erase(l.task_id);
    auto where = executors_.find(done.executor);
    if (done.killed && !done.answered && !done.lost && where != executors_.end() && where->second.alive)
      killed_on_[l.task_id] = done.executor;  // still running there until it answers
    else if (where != executors_.end())
      where->second.busy--;
    cv_.notify_all();
    if (!done.ok && done.fetch) forget_outputs_at(done.fetch->address);
    lock.unlock();
    if (!done.ok) {
      if (done.killed && !done.lost) throw task_killed(done.error);
      if (done.input_error) throw input_error(done.error);
      if (done.lost) throw task_lost(done.error, done.executor);
      if (done.fetch)
        throw fetch_failure(done.error, done.fetch->shuffle, done.fetch->map, executor_at(done.fetch->address));
      throw error(done.error);
    }
    return {done.executor, std::move(done.result)};
  }

  // Tells every live executor to free some blocks. Caller holds mutex_.
  void tell_all(const protocol::RemoveBlocks& what) {
    std::string payload = protocol::encode(what);
    for (auto& [id, e] : executors_)
      if (e.alive) {
        try {
          e.conn->send(net::FrameType::remove_blocks, payload);
        } catch (const std::exception&) {
          // A lost executor's blocks are gone with it.
        }
      }
  }

  // The live executor that stored a cached partition the task reads, or nullptr. Caller holds
  // mutex_.
  Executor* holder_of_cached(const TaskSpec& spec) { return holder_of(spec.cached_nodes, spec.partition); }

  // The live executor that stored partition `partition` of one of `nodes`, or nullptr. Caller
  // holds mutex_.
  Executor* holder_of(const std::vector<std::uint64_t>& nodes, std::size_t partition) {
    for (auto node : nodes) {
      auto it = cached_at_.find({node, partition});
      if (it == cached_at_.end()) continue;
      auto e = executors_.find(it->second);
      if (e != executors_.end() && e->second.alive) return &e->second;
    }
    return nullptr;
  }

  // The keeper thread, for the backend's life: it starts local-cluster executors (initial ones
  // and replacements) and tells every live executor that the driver is alive. Executors are
  // started from this one long-lived thread because PR_SET_PDEATHSIG fires when the thread that
  // forked them ends, not the process: a replacement forked on a connection's thread would die
  // with that connection.
  void keep(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    auto next_beat = std::chrono::steady_clock::now();
    while (!stop.stop_requested()) {
      cv_.wait_until(lock, stop, next_beat, [&] { return to_spawn_ > 0; });
      if (stop.stop_requested()) break;
      while (to_spawn_ > 0 && !stopping_) {
        --to_spawn_;
        std::string id = fmt::format("executor-{}", spawned_++);
        try {
          spawn(id, cores_per_executor_, memory_per_executor_);
        } catch (const std::exception& x) {
          std::fprintf(stderr, "spate: could not start %s: %s\n", id.c_str(), x.what());
          cv_.notify_all();  // a task waiting for it waits no more
        }
      }
      if (std::chrono::steady_clock::now() < next_beat) continue;
      next_beat = std::chrono::steady_clock::now() + config_.heartbeat_interval;
      // A child that died before it registered closes no connection we know of: replace it here.
      auto gone = reap_exited();
      for (pid_t pid : gone)
        if (!stopping_ && !registered_pid(pid)) replace_executor();
      if (!gone.empty()) cv_.notify_all();  // tasks waiting on executors still starting
      std::vector<std::shared_ptr<net::Connection>> conns;
      for (auto& [id, e] : executors_)
        if (e.alive) conns.push_back(e.conn);
      lock.unlock();
      for (auto& c : conns) {
        try {
          c->send(net::FrameType::heartbeat, "");
        } catch (const std::exception&) {
          // Its closing is reported through on_closed.
        }
      }
      lock.lock();
    }
  }

  // The live executor with the most free slots, other than `avoid`, or nullptr. Caller holds
  // mutex_.
  Executor* free_executor(const std::string& avoid = "") {
    Executor* best = nullptr;
    for (auto& [id, e] : executors_)
      if (e.alive && id != avoid && e.busy < e.cores && (!best || e.cores - e.busy > best->cores - best->busy))
        best = &e;
    return best;
  }

  // A killed task's executor answered for it at last: its slot is free again. Caller holds
  // mutex_. Returns false when the task was not one killed.
  bool release_killed(const std::shared_ptr<net::Connection>& c, std::uint64_t task) {
    auto it = killed_on_.find(task);
    if (it == killed_on_.end()) return false;
    auto who = by_conn_.find(c.get());
    if (who == by_conn_.end() || who->second != it->second)
      throw net::net_error(fmt::format("a report on task {} came from {}, not from executor {} that ran it", task,
                                       c->peer(), it->second));
    if (auto e = executors_.find(it->second); e != executors_.end() && e->second.alive) e->second.busy--;
    killed_on_.erase(it);
    cv_.notify_all();
    return true;
  }

  // Marks a pending task done. Caller holds mutex_.
  void finish(std::uint64_t task, bool ok, std::string error, bool input = false, bool lost = false) {
    auto it = pending_.find(task);
    if (it == pending_.end() || it->second.done) return;  // a late answer for a task given up
    it->second.done = true;
    it->second.ok = ok;
    it->second.error = std::move(error);
    it->second.input_error = input;
    it->second.lost = lost;
    cv_.notify_all();
  }

  // A reducer could not fetch from the block server at `address`: whatever it holds is taken
  // for lost (its executor may be dead before its connection says so), to be recomputed.
  // Caller holds mutex_.
  void forget_outputs_at(const std::string& address) {
    std::string id = executor_at(address);
    for (auto m = map_outputs_.begin(); m != map_outputs_.end();)
      m = m->second.executor == id ? map_outputs_.erase(m) : std::next(m);
  }

  // The id of the executor whose block server is at `address` ("" if none). Caller holds mutex_.
  std::string executor_at(const std::string& address) const {
    for (const auto& [id, e] : executors_)
      if (e.block_address == address) return id;
    return "";
  }

  void on_frame(const std::shared_ptr<net::Connection>& c, net::Frame&& f) {
    // A frame this driver does not expect from this peer now throws: the Server closes that
    // one connection and logs why, and an executor on it is lost like any other.
    if (f.type != net::FrameType::register_executor && f.type != net::FrameType::heartbeat) {
      std::lock_guard lock(mutex_);
      if (!by_conn_.count(c.get()))
        throw net::net_error(fmt::format("{} frame from {}, which has not registered as an executor",
                                         net::frame_type_name(f.type), c->peer()));
    }
    switch (f.type) {
      case net::FrameType::register_executor: {
        {
          std::lock_guard lock(mutex_);
          if (by_conn_.count(c.get()))
            throw net::net_error(fmt::format("executor {} registered twice", by_conn_.at(c.get())));
        }
        register_executor(c, protocol::decode_registration(f.payload));
        break;
      }
      case net::FrameType::task_result: {
        auto r = protocol::decode_result(f.payload);
        std::lock_guard lock(mutex_);
        if (release_killed(c, r.task_id)) return;
        auto it = pending_.find(r.task_id);
        if (it == pending_.end()) return;
        check_sender(c, it->second, r.task_id);
        it->second.answered = true;
        if (it->second.done) return;  // killed meanwhile
        it->second.result = std::move(r);
        finish(it->first, true, "");
        break;
      }
      case net::FrameType::task_failed: {
        auto r = protocol::decode_failure(f.payload);
        std::lock_guard lock(mutex_);
        if (release_killed(c, r.task_id)) return;
        auto it = pending_.find(r.task_id);
        if (it == pending_.end()) return;
        check_sender(c, it->second, r.task_id);
        it->second.answered = true;
        if (it->second.done) return;  // killed meanwhile
        if (r.fetch_failed) {
          // No address: the damaged output was the reporting executor's own.
          if (r.address.empty())
            if (auto e = executors_.find(it->second.executor); e != executors_.end()) r.address = e->second.block_address;
          it->second.fetch = r;
        }
        finish(r.task_id, false, r.message, r.input_error);
        break;
      }
      case net::FrameType::fetch_broadcast: {
        auto req = protocol::decode_broadcast_request(f.payload);
        if (auto bytes = broadcasts_(req.id))
          c->send(net::FrameType::broadcast_data, protocol::encode(protocol::BroadcastData{req.id, std::move(*bytes)}));
        else
          c->send(net::FrameType::broadcast_missing, protocol::encode(req));
        break;
      }
      case net::FrameType::shutdown:
        break;  // the executor is ending; its connection closes next
      case net::FrameType::heartbeat: {
        auto h = protocol::decode_heartbeat(f.payload);
        std::lock_guard lock(mutex_);
        if (auto it = by_conn_.find(c.get()); it != by_conn_.end()) {
          Executor& e = executors_.at(it->second);
          e.memory_used = h.memory_used;
          e.memory_budget = h.memory_budget;
        }
        break;
      }
      default:
        throw net::net_error(fmt::format("an executor does not send {} frames", net::frame_type_name(f.type)));
    }
  }

  // Only the executor a task was sent to may report on it. Caller holds mutex_.
  void check_sender(const std::shared_ptr<net::Connection>& c, const Pending& p, std::uint64_t task) {
    auto who = by_conn_.find(c.get());
    if (who == by_conn_.end() || who->second != p.executor)
      throw net::net_error(fmt::format("a report on task {} came from {}, not from executor {} that runs it",
                                       task, c->peer(), p.executor));
  }

  void register_executor(const std::shared_ptr<net::Connection>& c, protocol::Registration r) {
    const std::string& mine = executable_fingerprint();
    if (r.fingerprint != mine) {
      std::string why = fmt::format(
          "executor {} runs a different build: {} ({}) but the driver runs {} ({})", r.executor_id,
          r.executable, r.fingerprint.substr(0, 25), executable_path(), mine.substr(0, 25));
      std::fprintf(stderr, "spate: refused %s\n", why.c_str());
      c->send(net::FrameType::registration_refused, why);
      c->close(why);
      return;
    }
    std::lock_guard lock(mutex_);
    Executor e;
    e.id = r.executor_id;
    while (executors_.count(e.id)) e.id += "'";
    e.conn = c;
    e.block_address = fmt::format("{}:{}", r.block_host, r.block_port);
    e.cores = r.cores;
    e.pid = r.pid;
    by_conn_[c.get()] = e.id;
    executors_[e.id] = e;
    events_.on_executor_added({{e.id, e.pid, e.block_address, e.cores, true}, now_ms()});
    protocol::Welcome welcome;
    welcome.heartbeat_interval_ms = static_cast<std::uint64_t>(config_.heartbeat_interval.count());
    welcome.heartbeat_timeout_ms = static_cast<std::uint64_t>(config_.heartbeat_timeout.count());
    welcome.compression = config_.shuffle_compression.value_or(Codec::lz4);
    c->send(net::FrameType::executor_registered, protocol::encode(welcome));
    cv_.notify_all();
  }

  void on_closed(const std::shared_ptr<net::Connection>& c, const std::string& why) {
    pid_t child = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = by_conn_.find(c.get());
      if (it == by_conn_.end()) return;
      const Executor& e = executors_.at(it->second);
      if (local_cluster_ && !stopping_ && is_child(static_cast<pid_t>(e.pid))) child = static_cast<pid_t>(e.pid);
    }
    // A local-cluster executor is this process's child: how it ended (a signal, an exit status)
    // says more than the closed connection. The wait is on this connection's own thread.
    std::optional<int> status = child ? wait_for_exit(child) : std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = by_conn_.find(c.get());
    if (it == by_conn_.end()) return;
    lose(it->second, why, status);
  }

  // True when `pid` is an executor this driver started and has not reaped. Caller holds mutex_.
  bool is_child(pid_t pid) const {
    return pid > 0 && std::find(children_.begin(), children_.end(), pid) != children_.end();
  }

  // The wait status of child `pid` once it ended, within kExitStatusWait; nothing when it still
  // runs (a connection closed for silence, say).
  std::optional<int> wait_for_exit(pid_t pid) {
    auto deadline = std::chrono::steady_clock::now() + kExitStatusWait;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        // The keeper may have reaped it already; it alone reaps the others, which it replaces.
        if (auto it = exit_status_.find(pid); it != exit_status_.end()) return it->second;
        if (!is_child(pid)) return std::nullopt;
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          children_.erase(std::find(children_.begin(), children_.end(), pid));
          exit_status_[pid] = status;
          return status;
        }
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(2ms);
    }
  }

  // Takes an executor for lost: its running tasks fail as lost, its map outputs and cached
  // partitions are forgotten, and local-cluster starts another in its place. Idempotent.
  // Caller holds mutex_. `id` is taken by value: on_closed passes the string held in by_conn_,
  // which this erases.
  // With the process's wait status (local-cluster), a crash signal fails its running tasks as
  // their own failures, counted against their attempts as Spark counts an exit the application
  // caused: the same function would crash every executor it is retried on.
  void lose(std::string id, const std::string& why, std::optional<int> status = std::nullopt) {
    Executor& e = executors_.at(id);
    if (!e.alive) return;
    e.alive = false;
    by_conn_.erase(e.conn.get());
    e.conn->close(why);
    bool crashed = status && WIFSIGNALED(*status) && crash_signal(WTERMSIG(*status));
    std::string ended = status ? describe_exit(*status) : "";
    std::string task_message;
    if (crashed) {
      task_message = fmt::format("executor {} (pid {}) {} while running this task; {}", id, e.pid, ended, kCaptureHint);
    } else if (status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) {
      task_message = fmt::format("executor {} (pid {}) {}: killed from outside, by a user or by the kernel when "
                                 "memory ran out (see --executor-memory)",
                                 id, e.pid, ended);
    } else if (status) {
      task_message = fmt::format("executor {} (pid {}) {}", id, e.pid, ended);
    } else {
      task_message = fmt::format("executor {} lost: {}", id, why);
    }
    std::size_t running = 0;
    for (auto& [task, p] : pending_)
      if (p.executor == id && !p.done) {
        ++running;
        finish(task, false, task_message, false, !crashed);
      }
    last_loss_ = status ? (running ? task_message : fmt::format("executor {} (pid {}) {}", id, e.pid, ended))
                        : fmt::format("executor {} lost: {}", id, why);
    for (auto m = map_outputs_.begin(); m != map_outputs_.end();)
      m = m->second.executor == id ? map_outputs_.erase(m) : std::next(m);
    for (auto m = cached_at_.begin(); m != cached_at_.end();)
      m = m->second == id ? cached_at_.erase(m) : std::next(m);
    for (auto k = killed_on_.begin(); k != killed_on_.end();)
      k = k->second == id ? killed_on_.erase(k) : std::next(k);
    if (!stopping_) {
      std::string reason_text = ended.empty() ? why : fmt::format("{}; it {}", why, ended);
      std::string_view reason(reason_text);
      if (reason.starts_with("spate: ")) reason.remove_prefix(7);
      events_.on_executor_lost({id, std::string(reason), now_ms()});
      std::fprintf(stderr, "spate: lost executor %s: %.*s\n", id.c_str(), static_cast<int>(reason.size()),
                   reason.data());
    }
    if (local_cluster_ && !stopping_) replace_executor();
    cv_.notify_all();
  }

  // local-cluster: asks the keeper thread for a new executor in place of a lost one, while
  // restarts remain. Caller holds mutex_.
  void replace_executor() {
    if (restarts_ >= config_.max_executor_restarts) return;
    ++restarts_;
    ++to_spawn_;
    cv_.notify_all();
  }

  // Collects children that have ended, so none lingers as a zombie; returns their pids.
  // Caller holds mutex_.
  std::vector<pid_t> reap_exited() {
    std::vector<pid_t> gone;
    for (auto it = children_.begin(); it != children_.end();) {
      int status = 0;
      if (::waitpid(*it, &status, WNOHANG) == *it) {
        gone.push_back(*it);
        exit_status_[*it] = status;
        it = children_.erase(it);
      } else {
        ++it;
      }
    }
    return gone;
  }

  // local-cluster: an executor is being started that has not registered yet, so a task that
  // finds every executor lost waits for it rather than failing. Caller holds mutex_.
  bool replacements_coming() const {
    if (!local_cluster_ || stopping_) return false;
    if (to_spawn_ > 0) return true;
    for (pid_t pid : children_)
      if (!registered_pid(pid)) return true;
    return false;
  }

  // True when an executor with this pid has registered. Caller holds mutex_.
  bool registered_pid(pid_t pid) const {
    for (const auto& [id, e] : executors_)
      if (e.pid == static_cast<std::uint64_t>(pid)) return true;
    return false;
  }

  void wait_for_executors(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    auto live = [&] {
      std::size_t k = 0;
      for (const auto& [id, e] : executors_) k += e.alive;
      return k;
    };
    if (!cv_.wait_for(lock, timeout, [&] { return live() >= n; }))
      throw error(fmt::format(
          "{} of {} executors registered within {} s. Start one with: {} --executor {} (with the "
          "same SPATE_SECRET)",
          live(), n, timeout.count() / 1000, executable_path(), url_));
  }

  // Starts an executor: this executable with --executor. Everything the child needs is built
  // before fork, since only async-signal-safe calls are allowed between fork and exec.
  void spawn(const std::string& id, std::size_t cores, std::uint64_t memory) {
    std::string exe = executable_path();
    // The role travels in the environment, not in argv, so the program's own argument parsing
    // (a test runner's, say) never sees spate's executor flags.
    std::vector<std::string> args{exe};
    // The secret goes in a sealed memfd the child inherits, never in its environment, where
    // whatever it started would inherit it and /proc/PID/environ would show it.
    int secret_fd = ::memfd_create("spate-secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (secret_fd < 0)
      throw error(fmt::format("cannot start executor {}: memfd_create: {}", id, std::strerror(errno)));
    struct CloseFd {
      int fd;
      ~CloseFd() { ::close(fd); }
    } close_secret{secret_fd};
    if (::write(secret_fd, secret_.data(), secret_.size()) != static_cast<ssize_t>(secret_.size()) ||
        ::fcntl(secret_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
      throw error(fmt::format("cannot start executor {}: writing its secret: {}", id, std::strerror(errno)));
    std::vector<std::string> env{"SPATE_SECRET_FD=" + std::to_string(secret_fd), "SPATE_EXECUTOR=" + url_,
                                 "SPATE_EXECUTOR_ID=" + id,
                                 "SPATE_EXECUTOR_CORES=" + std::to_string(cores),
                                 "SPATE_EXECUTOR_HOST=127.0.0.1",
                                 "SPATE_EXECUTOR_MEMORY=" + std::to_string(memory)};
    for (char** e = environ; *e; ++e)
      if (!std::string_view(*e).starts_with("SPATE_SECRET") && !std::string_view(*e).starts_with("SPATE_MASTER") &&
          !std::string_view(*e).starts_with("SPATE_EXECUTOR"))
        env.emplace_back(*e);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) throw error(fmt::format("cannot start executor {}: fork: {}", id, std::strerror(errno)));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the driver, whatever kills it
      // Ctrl-C reaches the terminal's whole process group: the driver decides what it means
      // (it cancels its jobs); its executors end when it does.
      ::signal(SIGINT, SIG_IGN);
      if (::getppid() != parent) ::_exit(1);
      ::fcntl(secret_fd, F_SETFD, 0);  // this one descriptor survives exec
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    children_.push_back(pid);
    exit_status_.erase(pid);  // an earlier child's, whose pid the kernel gave out again
  }

  void reap_children() {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    for (pid_t pid : children_) {
      for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || r < 0) break;
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &status, 0);
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
    }
  }

  EngineConfig config_;
  BroadcastBytes broadcasts_;
  JobListener& events_;
  std::string secret_;
  std::string url_;
  std::unique_ptr<net::Server> server_;
  std::mutex mutex_;
  std::condition_variable_any cv_;  // _any: the heartbeat thread also waits on its stop_token
  bool stopping_ = false;
  std::map<std::string, Executor> executors_;
  std::map<const net::Connection*, std::string> by_conn_;
  std::map<std::uint64_t, Pending> pending_;
  std::map<std::uint64_t, std::string> killed_on_;  // killed tasks still running: task -> executor
  std::uint64_t next_task_ = 1;
  // Where each map output lives, with its bucket sizes (compress_size bytes).
  struct MapStatus {
    std::string executor;
    std::string sizes;
  };
  std::map<std::pair<int, std::size_t>, MapStatus> map_outputs_;
  std::map<std::pair<std::uint64_t, std::size_t>, std::string> cached_at_;  // (node, partition)
  std::vector<pid_t> children_;
  std::map<pid_t, int> exit_status_;  // wait statuses of reaped children, for on_closed
  std::string last_loss_;             // how the last executor lost ended, for "every executor..."
  bool local_cluster_ = false;
  std::size_t cores_per_executor_ = 1;
  std::uint64_t memory_per_executor_ = 0;
  std::atomic<std::size_t> to_spawn_{0};  // executors the keeper thread is to start
  std::size_t spawned_ = 0;               // executors started, for their ids
  std::size_t restarts_ = 0;              // of them, in place of lost ones
  std::jthread keeper_;
};

}  // namespace

std::unique_ptr<Backend> make_cluster_backend(const EngineConfig& config, BroadcastBytes broadcasts,
                                              JobListener& events) {
  return std::make_unique<ClusterBackend>(config, std::move(broadcasts), events);
}

}  // namespace spate::detail
