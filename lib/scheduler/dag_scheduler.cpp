// The DAG scheduler: jobs become stages, and a stage runs once the stages it reads are done.
//
// A job asks for partitions of a node. Walking the node's narrow parents finds the shuffles its
// result stage reads; each shuffle is the end of a map stage, whose own narrow lineage may end at
// further shuffles, and so on. A map stage is known by its shuffle, so concurrent jobs that read
// the same shuffle share one stage, and a shuffle whose outputs all exist (written by an earlier
// job) is not computed again: only missing map partitions are.
//
// Every decision is taken on one event-loop thread, which owns all the state below; other
// threads only post events to it (a job submitted or cancelled, a partition of a task set that
// ended, a task set that stopped or drained). Submitting a stage submits first its parents whose
// outputs are missing and parks it as waiting; when a map stage completes, every waiting stage
// whose parents are now complete is submitted. So independent stages (both sides of a join, or
// the stages of two jobs) run at the same time, their tasks sharing the slots through the task
// scheduler's queue.
//
// Recovery follows Spark. A task that cannot fetch a map output stops its task set; its stage
// waits while the parent's missing outputs are computed again, then runs its unfinished
// partitions. A map stage whose task set ended with outputs missing (their executor was lost)
// runs again for those. Either happens at most max_stage_attempts times in a row before the
// jobs that need the stage fail. A job ends when its last result partition is in, when a stage
// it needs fails, or when it is cancelled; stages no running job needs any more are stopped,
// and a job's waiters are woken only once none of its result tasks runs any more (they write
// into its handler).
#include "scheduler/dag_scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "events/job_events.hpp"
#include "scheduler/context_cleaner.hpp"
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

// A cached node a stage's tasks read, reached through narrow parents; `aligned` when every
// node on the way has as many partitions as the stage, so that task p reads the node's
// partition p (a coalesce or union between maps partitions differently).
struct CachedInStage {
  std::shared_ptr<NodeBase> node;
  bool aligned;
};

// The cached nodes a stage's tasks read: where their partitions are is the best place for a
// task, and for a pinned one (a local checkpoint), the only place when aligned.
std::vector<CachedInStage> cached_in_stage(const std::shared_ptr<NodeBase>& node) {
  std::vector<CachedInStage> out;
  std::set<const NodeBase*> seen;
  std::vector<CachedInStage> todo{{node, true}};
  while (!todo.empty()) {
    auto [n, aligned] = std::move(todo.back());
    todo.pop_back();
    aligned = aligned && n->num_partitions() == node->num_partitions();
    if (!seen.insert(n.get()).second) continue;
    if (n->cached()) out.push_back({n, aligned});
    // On past a cached node: where its block is missing, the task reads its parents, and a
    // pinned node among them still decides where the task must run.
    for (const auto& p : n->narrow_parents()) todo.push_back({p, aligned});
  }
  return out;
}

// The longest chain of narrow parents from `node` down, itself included: how deep a task's
// records are pulled through nested nodes. Iterative, so that depth never costs stack here.
std::size_t narrow_depth(const NodeBase& node) {
  std::map<const NodeBase*, std::size_t> depth;
  std::vector<std::pair<const NodeBase*, bool>> todo{{&node, false}};
  while (!todo.empty()) {
    auto [n, expanded] = todo.back();
    todo.pop_back();
    if (depth.count(n)) continue;
    if (!expanded) {
      todo.emplace_back(n, true);
      for (const auto& p : n->narrow_parents())
        if (!depth.count(p.get())) todo.emplace_back(p.get(), false);
      continue;
    }
    std::size_t d = 0;
    for (const auto& p : n->narrow_parents()) d = std::max(d, depth[p.get()]);
    depth[n] = d + 1;
  }
  return depth[&node];
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace

class DagJob;

struct DagScheduler::Impl {
  struct JobRun;

  struct Stage {
    int id = 0;
    int shuffle = -1;                              // -1: a job's result stage
    std::shared_ptr<ShuffleDependencyBase> dep;    // map stages
    std::shared_ptr<NodeBase> node;                // the stage's last node
    std::vector<std::shared_ptr<Stage>> parents;   // the map stages it reads
    std::vector<std::shared_ptr<ShuffleDependencyBase>> reads;
    std::string name;
    std::size_t partitions = 0;
    std::set<std::uint64_t> jobs;                  // running jobs that need it
    JobRun* job = nullptr;                         // a result stage's job
    std::vector<char> in_flight;                   // per partition: in some task set
    std::vector<char> done;                        // result stages: per partition
    bool running = false;                          // has an active task set
    bool waiting = false;                          // for its parents
    bool defunct = false;                          // no job needs it any more
    std::uint64_t released_by = 0;                 // the job whose end made it defunct
    std::uint64_t active_set = 0;
    std::size_t active_left = 0;                   // partitions of the active set not ended
    bool active_ok = true;
    std::int64_t submitted_at = 0;
    int submissions = 0;
    int failed_rounds = 0;                         // attempts in a row that lost outputs
    std::optional<std::string> bytes;              // its shipped form, once needed
  };

  struct JobRun {
    std::shared_ptr<DagJob> control;
    std::shared_ptr<NodeBase> node;
    ResultHandler* handler = nullptr;
    std::shared_ptr<void> keep_alive;
    std::vector<std::size_t> parts;
    JobProperties properties;
    std::shared_ptr<Stage> result;
    std::vector<std::shared_ptr<Stage>> stages;  // the map stages it needs
    std::size_t remaining = 0;
    std::int64_t start = 0;
    bool ending = false;
    std::exception_ptr error;
    std::vector<std::shared_ptr<Stage>> released;  // stages its end stopped
    std::uint64_t control_id() const;
  };

  Impl(Backend& b, TaskScheduler& t, JobListener& l, int max_attempts, bool spec, DagSchedulerHooks h)
      : backend(b), tasks(t), bus(l), max_stage_attempts(max_attempts), speculation(spec), hooks(std::move(h)) {
    loop = std::thread([this] { run_loop(); });
  }

  Backend& backend;
  TaskScheduler& tasks;
  JobListener& bus;
  int max_stage_attempts;
  bool speculation;
  DagSchedulerHooks hooks;

  // The event queue: any thread posts, the loop thread runs.
  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  std::thread loop;
  std::atomic<std::uint64_t> next_job{1};

  // Owned by the loop thread.
  std::map<int, std::shared_ptr<Stage>> map_stages;  // by shuffle id
  std::map<int, int> stage_of_shuffle;               // a shuffle's stage id, stable for the engine's life
  int next_stage = 0;
  std::map<std::uint64_t, std::shared_ptr<JobRun>> jobs;
  std::vector<std::shared_ptr<Stage>> waiting;
  std::size_t sets_alive = 0;
  std::condition_variable idle_cv;  // with queue_mutex: jobs and sets all gone
  std::size_t live_jobs = 0;        // with queue_mutex

  void post(std::function<void()> f) {
    std::lock_guard lock(queue_mutex);
    // A busy loop finds the event when it looks at the queue again: wake it only from idle.
    // Notified under the lock: once the loop sees the event (a set drained, the last one), the
    // scheduler may be destroyed, condition variable and all (TSan caught that).
    if (queue.empty()) queue_cv.notify_one();
    queue.push_back(std::move(f));
  }

  void run_loop() {
    std::unique_lock lock(queue_mutex);
    for (;;) {
      // Idle for a second: the program may have let go of datasets since the last job.
      if (!queue_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping || !queue.empty(); })) {
        queue.push_back([this] { sweep(); });
        continue;
      }
      if (queue.empty() && stopping) return;
      auto f = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  }

  // ---- Stages --------------------------------------------------------------------------------

  int stage_id_for(int shuffle) {
    auto [it, inserted] = stage_of_shuffle.try_emplace(shuffle, 0);
    if (inserted) it->second = next_stage++;
    return it->second;
  }

  std::shared_ptr<Stage> map_stage(const std::shared_ptr<ShuffleDependencyBase>& dep) {
    if (auto it = map_stages.find(dep->shuffle_id()); it != map_stages.end()) return it->second;
    auto s = std::make_shared<Stage>();
    s->shuffle = dep->shuffle_id();
    s->dep = dep;
    if (hooks.cleaner) hooks.cleaner->track(dep);
    s->node = dep->parent();
    s->reads = stage_shuffles(*s->node);
    for (const auto& d : s->reads) s->parents.push_back(map_stage(d));  // parents take ids first
    s->id = stage_id_for(s->shuffle);
    s->name = fmt::format("shuffle {} <- {}", s->shuffle, stage_name(*s->node));
    s->partitions = s->node->num_partitions();
    s->in_flight.assign(s->partitions, 0);
    map_stages[s->shuffle] = s;
    return s;
  }

  // Every map stage `s` needs, parents first.
  static void collect(const std::shared_ptr<Stage>& s, std::set<Stage*>& seen, std::vector<std::shared_ptr<Stage>>& out) {
    for (const auto& p : s->parents)
      if (seen.insert(p.get()).second) {
        collect(p, seen, out);
        out.push_back(p);
      }
  }

  std::vector<int> parent_ids(const Stage& s) const {
    std::vector<int> out;
    for (const auto& p : s.parents) out.push_back(p->id);
    return out;
  }

  bool has_output(const Stage& s, std::size_t p) { return backend.has_map_output(s.shuffle, p); }

  // Partitions of `s` still to be computed, in flight or not.
  std::vector<std::size_t> missing(Stage& s) {
    std::vector<std::size_t> out;
    if (s.job) {
      for (std::size_t p : s.job->parts)
        if (!s.done[p]) out.push_back(p);
    } else {
      for (std::size_t p = 0; p < s.partitions; ++p)
        if (!has_output(s, p)) out.push_back(p);
    }
    return out;
  }

  bool available(Stage& s) { return missing(s).empty(); }

  // The job a stage's events are told under: the oldest that needs it.
  std::uint64_t job_of(const Stage& s) const { return s.jobs.empty() ? 0 : *s.jobs.begin(); }

  void submit_stage(const std::shared_ptr<Stage>& s) {
    if (s->defunct || s->running || s->waiting) return;
    std::vector<std::shared_ptr<Stage>> missing_parents;
    for (const auto& p : s->parents)
      if (!available(*p)) missing_parents.push_back(p);
    if (!missing_parents.empty()) {
      s->waiting = true;
      waiting.push_back(s);
      for (const auto& p : missing_parents) submit_stage(p);
      return;
    }
    submit_tasks(s);
  }

  void submit_tasks(const std::shared_ptr<Stage>& s) {
    std::vector<std::size_t> parts;
    for (std::size_t p : missing(*s))
      if (!s->in_flight[p]) parts.push_back(p);
    if (parts.empty()) {
      check(s);
      return;
    }
    TaskSetSpec spec;
    try {
      if (backend.ships_tasks() && !s->bytes) {
        Writer w;
        GraphWriter g(w);
        if (s->job)
          write_registered(g, *s->job->handler);
        else
          g.shuffle(*s->dep);
        s->bytes = std::move(w).take();
      }
    } catch (...) {
      fail_stage(s, std::current_exception());
      return;
    }
    std::uint64_t job = job_of(*s);
    auto owner = jobs.find(job);
    spec.job = job;
    spec.stage = s->id;
    spec.shuffle = s->shuffle;
    spec.pool = owner != jobs.end() ? owner->second->properties.pool : "default";
    spec.name = s->name;
    spec.partitions = parts;
    spec.base.stage = s->id;
    spec.base.stage_bytes = s->bytes ? &*s->bytes : nullptr;
    for (const auto& d : s->reads) spec.base.shuffles_read.emplace_back(d->shuffle_id(), d->num_maps());
    for (const auto& [n, aligned] : cached_in_stage(s->node)) {
      spec.base.cached_nodes.push_back(n->id());
      if (n->pinned() && aligned) spec.base.pinned_nodes.push_back(n->id());
      if (hooks.cleaner) hooks.cleaner->track(n);
    }
    spec.speculatable = speculation && backend.ships_tasks();
    auto keep = hooks.keep_updates;
    if (s->job) {
      ResultHandler* handler = s->job->handler;
      spec.launch = [this, s, handler](const TaskSpec& t) { return backend.run_result(*handler, t); };
      spec.accept = [handler, keep](std::size_t p, TaskUpdates& u) {
        if (u.result) {
          Reader in(*u.result);
          handler->load_result(p, in);
          u.result.reset();
        }
        keep(u);
      };
    } else {
      spec.launch = [this, s](const TaskSpec& t) { return backend.run_map(*s->dep, t); };
      spec.accept = [keep](std::size_t, TaskUpdates& u) { keep(u); };
    }
    // The set's id is known once submit() returns; its events reach the loop after that.
    auto set_id = std::make_shared<std::uint64_t>(0);
    spec.on_partition_ended = [this, s, set_id](std::size_t p, PartitionEnd how, const FetchMiss* miss) {
      std::optional<FetchMiss> m;
      if (miss) m = *miss;
      post([this, s, set_id, p, how, m] { partition_ended(s, *set_id, p, how, m); });
    };
    spec.on_aborted = [this, s, set_id](std::exception_ptr e) { post([this, s, set_id, e] { aborted(s, *set_id, e); }); };
    spec.on_drained = [this, s] { post([this, s] { drained(s); }); };
    for (std::size_t p : parts) s->in_flight[p] = 1;
    s->running = true;
    s->active_left = parts.size();
    s->active_ok = true;
    s->submitted_at = now_ms();
    ++s->submissions;
    ++sets_alive;
    bus.on_stage_submitted({job, s->id, s->shuffle, s->name, parts.size(), s->partitions, parent_ids(*s),
                            s->submissions, s->submitted_at});
    *set_id = s->active_set = tasks.submit(std::move(spec));
  }

  void partition_ended(const std::shared_ptr<Stage>& s, std::uint64_t set, std::size_t p, PartitionEnd how,
                       const std::optional<FetchMiss>& miss) {
    s->in_flight[p] = 0;
    bool active = s->running && set == s->active_set;
    if (active) {
      --s->active_left;
      if (how != PartitionEnd::succeeded) s->active_ok = false;
    }
    if (how == PartitionEnd::succeeded && s->job && !s->done[p]) {
      s->done[p] = 1;
      --s->job->remaining;
    }
    if (s->defunct) {
      // The job that stopped it may wait for its last tasks to end.
      if (auto it = jobs.find(s->released_by); it != jobs.end()) maybe_complete(it->second.get());
      return;
    }
    if (how == PartitionEnd::fetch_failed) {
      fetch_failed(s, active, *miss);
      return;
    }
    check(s);
  }

  // Settles a stage after one of its partitions ended: its attempt ends when its active set has
  // no partition left; then it is complete, or runs again for what is missing.
  void check(const std::shared_ptr<Stage>& s) {
    if (s->defunct || s->waiting) return;
    if (s->running) {
      if (s->active_left > 0) return;
      end_attempt(*s, s->active_ok, s->active_ok ? "" : "some tasks did not finish");
    }
    auto left = missing(*s);
    if (left.empty()) {
      complete(s);
      return;
    }
    for (std::size_t p : left)
      if (s->in_flight[p]) return;  // a copy from an earlier attempt still runs
    // Outputs went missing (their executor was lost) after their tasks succeeded.
    if (++s->failed_rounds > max_stage_attempts) {
      fail_stage(s, std::make_exception_ptr(job_error(
                        fmt::format("job failed: stage {} ({}) lost outputs {} times in a row; {} of its {} "
                                    "partitions are still missing",
                                    s->id, s->name, s->failed_rounds - 1, left.size(), s->partitions),
                        "map outputs lost", s->id, left.front(), s->failed_rounds - 1)));
      return;
    }
    submit_stage(s);
  }

  void end_attempt(Stage& s, bool ok, const std::string& message) {
    if (!s.running) return;
    s.running = false;
    std::int64_t end = now_ms();
    bus.on_stage_completed({job_of(s), s.id, s.submissions, end, end - s.submitted_at, ok, message});
  }

  void fetch_failed(const std::shared_ptr<Stage>& s, bool active, const FetchMiss& miss) {
    if (active) end_attempt(*s, false, fmt::format("fetch failed: {}", miss.message));
    if (s->waiting) return;  // an earlier failure already sent for the parents
    std::vector<std::shared_ptr<Stage>> lost;
    for (const auto& p : s->parents)
      if (p->shuffle == miss.shuffle) lost.push_back(p);
    if (lost.empty()) lost = s->parents;
    for (const auto& p : lost)
      if (++p->failed_rounds > max_stage_attempts) {
        fail_stage(s, std::make_exception_ptr(job_error(
                          fmt::format("job failed: stage {} ({}) could not read the outputs of stage {} ({}) {} "
                                      "times in a row; last: {}",
                                      s->id, s->name, p->id, p->name, p->failed_rounds - 1, miss.message),
                          miss.message, s->id, miss.map, p->failed_rounds - 1)));
        return;
      }
    // Running tasks of the stopped set go on; the stage runs the rest once its parents are whole.
    submit_stage(s);
  }

  void aborted(const std::shared_ptr<Stage>& s, std::uint64_t set, std::exception_ptr error) {
    if (s->defunct) return;
    if (s->running && set == s->active_set) end_attempt(*s, false, message_of(error));
    fail_stage(s, error);
  }

  void drained(const std::shared_ptr<Stage>&) {
    --sets_alive;
    notify_idle();
  }

  // True when a stage of a running job has yet to read shuffle `shuffle`.
  bool still_read(int shuffle) {
    auto reads = [shuffle](const Stage& st) {
      return std::any_of(st.parents.begin(), st.parents.end(), [&](const auto& p) { return p->shuffle == shuffle; });
    };
    for (const auto& [id, j] : jobs) {
      if (j->ending) continue;
      if (j->result && reads(*j->result)) return true;
      for (const auto& st : j->stages)
        if (!st->defunct && reads(*st) && (st->running || st->waiting || !available(*st))) return true;
    }
    return false;
  }

  // The shuffles `s` read that no running stage needs any more may wait on disk (PageRank's
  // lineage holds every shuffle it made, and only the last is read).
  void release_reads(const Stage& s) {
    for (const auto& p : s.parents)
      if (!still_read(p->shuffle)) backend.shuffle_idle(p->shuffle);
  }

  // A map stage has every output, or a result stage every partition.
  void complete(const std::shared_ptr<Stage>& s) {
    s->failed_rounds = 0;
    if (s->job) {
      finish_job(*s->job, nullptr);
      return;
    }
    release_reads(*s);
    auto parked = std::move(waiting);
    waiting.clear();
    for (auto& w : parked) {
      bool reads_it = std::any_of(w->parents.begin(), w->parents.end(), [&](const auto& p) { return p == s; });
      if (!reads_it || w->defunct) {
        if (!w->defunct) waiting.push_back(w);
        continue;
      }
      w->waiting = false;
      submit_stage(w);
    }
  }

  void fail_stage(const std::shared_ptr<Stage>& s, std::exception_ptr error) {
    std::vector<std::uint64_t> ids(s->jobs.begin(), s->jobs.end());
    if (s->job && ids.empty()) ids.push_back(s->job->control_id());
    for (auto id : ids)
      if (auto it = jobs.find(id); it != jobs.end()) finish_job(*it->second, error);
  }

  // ---- Jobs ----------------------------------------------------------------------------------

  void start_job(const std::shared_ptr<JobRun>& j) {
    sweep();
    std::uint64_t id = j->control_id();
    jobs[id] = j;
    auto r = std::make_shared<Stage>();
    r->node = j->node;
    r->reads = stage_shuffles(*r->node);
    std::vector<StagePlan> plan;
    try {
      for (const auto& d : r->reads) r->parents.push_back(map_stage(d));
    } catch (...) {
      j->result = r;
      finish_job(*j, std::current_exception());
      return;
    }
    r->id = next_stage++;
    r->name = stage_name(*r->node);
    r->partitions = r->node->num_partitions();
    r->in_flight.assign(r->partitions, 0);
    r->done.assign(r->partitions, 0);
    r->job = j.get();
    r->jobs.insert(id);
    j->result = r;
    std::set<Stage*> seen;
    collect(r, seen, j->stages);
    for (const auto& s : j->stages) {
      s->jobs.insert(id);
      plan.push_back({s->id, s->shuffle, s->name, s->partitions, parent_ids(*s)});
    }
    plan.push_back({r->id, -1, r->name, r->partitions, parent_ids(*r)});
    std::string description = j->properties.description.empty() ? r->name : j->properties.description;
    bus.on_job_started({id, description, j->parts.size(), j->start, std::move(plan)});
    // One limit in every mode: what executors accept in a shipped stage (kMaxShippedDepth, the
    // map stage's shuffle counting as a level), so a program never works in local mode and
    // fails on a cluster, nor overflows a task thread's stack.
    for (const auto& s : j->stages) {
      std::size_t depth = narrow_depth(*s->node) + 1;
      if (depth > kMaxShippedDepth) {
        finish_job(*j, too_deep(*s, depth));
        return;
      }
    }
    if (std::size_t depth = narrow_depth(*r->node); depth > kMaxShippedDepth) {
      finish_job(*j, too_deep(*r, depth));
      return;
    }
    j->remaining = j->parts.size();
    for (std::size_t p : j->parts) {
      if (p >= r->partitions) {
        finish_job(*j, std::make_exception_ptr(error(fmt::format(
                           "job asks for partition {} of {}, which has {} partitions", p, r->name, r->partitions))));
        return;
      }
    }
    if (j->remaining == 0) {
      finish_job(*j, nullptr);
      return;
    }
    submit_stage(r);
  }

  static std::exception_ptr too_deep(const Stage& s, std::size_t depth) {
    return std::make_exception_ptr(error(fmt::format(
        "stage {} ({}) nests {} operators in one task, more than the {} a stage may hold (each "
        "union_with, zip or operator after a Dataset assignment is a level); cut the lineage "
        "with checkpoint() or local_checkpoint() every few hundred levels, or shuffle it "
        "(repartition)",
        s.id, s.name, depth, kMaxShippedDepth)));
  }

  // The job has its answer (error null) or cannot have one: stages only it needs stop, and it
  // completes once none of its result tasks runs any more.
  void finish_job(JobRun& j, std::exception_ptr error) {
    if (j.ending) return;
    j.ending = true;
    j.error = error;
    std::uint64_t id = j.control_id();
    auto release = [&](const std::shared_ptr<Stage>& s) {
      s->jobs.erase(id);
      if (!s->jobs.empty() || s->defunct) return;
      s->defunct = true;
      s->released_by = id;
      j.released.push_back(s);
      if (s->running) {
        end_attempt(*s, false, error ? message_of(error) : "no job needs it any more");
        tasks.cancel(s->active_set);
      }
      s->waiting = false;
      waiting.erase(std::remove(waiting.begin(), waiting.end(), s), waiting.end());
      if (s->shuffle >= 0) {
        auto it = map_stages.find(s->shuffle);
        if (it != map_stages.end() && it->second == s) map_stages.erase(it);
      }
    };
    for (const auto& s : j.stages) release(s);
    if (j.result) {
      if (!error && j.result->running) end_attempt(*j.result, true, "");
      release(j.result);
    }
    maybe_complete(&j);
  }

  void maybe_complete(JobRun* j) {
    if (!j->ending) return;
    // A result task of this job may still write into its handler, and a task it stopped may
    // still be cleaning up: the job is over once none of them runs.
    for (const auto& s : j->released)
      for (char f : s->in_flight)
        if (f) return;
    std::uint64_t id = j->control_id();
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    auto keep = it->second;
    jobs.erase(it);
    if (j->result) j->result->job = nullptr;  // its set's last events may still come
    std::exception_ptr error = j->error;
    if (!error) {
      try {
        j->handler->job_succeeded();
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (error) j->handler->job_failed();
    std::int64_t end = now_ms();
    bus.on_job_ended({id, end, end - j->start, !error, error ? message_of(error) : ""});
    j->handler = nullptr;
    complete_control(*j, error);
    if (j->result) release_reads(*j->result);
    j->keep_alive.reset();
    notify_idle();
    // Once this job's records are gone (after this event), what only it held can be freed.
    post([this] { sweep(); });
  }

  void sweep() {
    if (!hooks.cleaner) return;
    for (int shuffle : hooks.cleaner->sweep()) stage_of_shuffle.erase(shuffle);
  }

  void complete_control(JobRun& j, std::exception_ptr error);
  void notify_idle();
  // Runs f on the loop thread and returns its answer.
  template <class R, class F>
  R ask(F&& f);
  bool shutting_down = false;  // loop thread
  bool idle = false;           // with queue_mutex

  bool cancel(std::uint64_t id, const std::string& why) {
    auto it = jobs.find(id);
    if (it == jobs.end() || it->second->ending) return false;
    finish_job(*it->second, std::make_exception_ptr(job_cancelled(
                                fmt::format("job {} cancelled{}{}", id, why.empty() ? "" : ": ", why))));
    return true;
  }
};

// The control a JobRun reports to; lives as long as anyone holds a handle.
class DagJob final : public JobControl {
 public:
  DagJob(std::uint64_t id, std::weak_ptr<DagScheduler::Impl> dag, TaskScheduler& tasks)
      : id_(id), dag_(std::move(dag)), tasks_(tasks) {}

  std::uint64_t id() const noexcept override { return id_; }

  bool done() const override {
    std::lock_guard lock(mutex_);
    return done_;
  }

  void wait() override {
    std::unique_lock lock(mutex_);
    if (done_) return;
    bool lend = TaskScheduler::on_task_thread();
    if (lend) tasks_.lend_slot();
    cv_.wait(lock, [&] { return done_; });
    if (lend) tasks_.return_slot();
  }

  bool cancel(const std::string& reason) override;

  void rethrow_if_failed() const override {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

  void complete(std::exception_ptr error) {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      error_ = std::move(error);
    }
    cv_.notify_all();
  }

 private:
  std::uint64_t id_;
  std::weak_ptr<DagScheduler::Impl> dag_;
  TaskScheduler& tasks_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
};

std::uint64_t DagScheduler::Impl::JobRun::control_id() const { return control->id(); }

void DagScheduler::Impl::complete_control(JobRun& j, std::exception_ptr error) {
  j.control->complete(std::move(error));
  std::lock_guard lock(queue_mutex);
  --live_jobs;
}

void DagScheduler::Impl::notify_idle() {
  if (!shutting_down || !jobs.empty() || sets_alive > 0) return;
  {
    std::lock_guard lock(queue_mutex);
    idle = true;
  }
  idle_cv.notify_all();
}

template <class R, class F>
R DagScheduler::Impl::ask(F&& f) {
  if (std::this_thread::get_id() == loop.get_id()) return f();
  std::promise<R> answer;
  auto got = answer.get_future();
  post([&] { answer.set_value(f()); });
  return got.get();
}

bool DagJob::cancel(const std::string& reason) {
  auto dag = dag_.lock();
  if (!dag || done()) return false;
  return dag->ask<bool>([&] { return dag->cancel(id_, reason); });
}

DagScheduler::DagScheduler(Backend& backend, TaskScheduler& tasks, JobListener& listeners, int max_stage_attempts,
                           bool speculation, DagSchedulerHooks hooks)
    : impl_(std::make_shared<Impl>(backend, tasks, listeners, max_stage_attempts, speculation, std::move(hooks))) {}

DagScheduler::~DagScheduler() {
  Impl& d = *impl_;
  d.post([&d] {
    d.shutting_down = true;
    std::vector<std::uint64_t> ids;
    for (const auto& [id, j] : d.jobs) ids.push_back(id);
    for (auto id : ids) d.cancel(id, "the Context is being destroyed");
    d.notify_idle();
  });
  {
    std::unique_lock lock(d.queue_mutex);
    d.idle_cv.wait(lock, [&] { return d.idle; });
    d.stopping = true;
  }
  d.queue_cv.notify_all();
  d.loop.join();
}

std::shared_ptr<JobControl> DagScheduler::submit(std::shared_ptr<NodeBase> node, ResultHandler& handler,
                                                 std::vector<std::size_t> partitions,
                                                 std::shared_ptr<void> keep_alive, JobProperties properties) {
  std::uint64_t id = impl_->next_job++;
  auto run = std::make_shared<Impl::JobRun>();
  run->control = std::make_shared<DagJob>(id, impl_, impl_->tasks);
  if (partitions.empty())
    for (std::size_t p = 0; p < node->num_partitions(); ++p) partitions.push_back(p);
  run->node = std::move(node);
  run->handler = &handler;
  run->keep_alive = std::move(keep_alive);
  run->parts = std::move(partitions);
  run->properties = std::move(properties);
  run->start = now_ms();
  {
    std::lock_guard lock(impl_->queue_mutex);
    ++impl_->live_jobs;
  }
  std::shared_ptr<JobControl> control = run->control;
  impl_->post([d = impl_.get(), run] { d->start_job(run); });
  return control;
}

std::size_t DagScheduler::cancel_group(const std::string& group, const std::string& reason) {
  Impl& d = *impl_;
  return d.ask<std::size_t>([&] {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, j] : d.jobs)
      if (!group.empty() && j->properties.group == group) ids.push_back(id);
    std::size_t n = 0;
    for (auto id : ids) n += d.cancel(id, reason);
    return n;
  });
}

std::size_t DagScheduler::cancel_all(const std::string& reason) {
  Impl& d = *impl_;
  return d.ask<std::size_t>([&] {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, j] : d.jobs) ids.push_back(id);
    std::size_t n = 0;
    for (auto id : ids) n += d.cancel(id, reason);
    return n;
  });
}

bool DagScheduler::cancel_job(std::uint64_t id, const std::string& reason) {
  Impl& d = *impl_;
  return d.ask<bool>([&] { return d.cancel(id, reason); });
}

}  // namespace spate::detail
