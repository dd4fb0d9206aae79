// The task scheduler: one queue for the tasks of every running stage, one pool of task threads.
//
// The DAG scheduler decides which stages run; this decides which task takes the next free slot.
// Every submitted task set waits in one table. A task thread with a slot free picks the next
// task by the policy (FIFO: the set of the oldest job, then of the lowest stage; FAIR: the pool
// running the fewest tasks, then FIFO inside it) and runs it through the set's launch function,
// which blocks for as long as the task runs (in this process, or on an executor over the wire).
// There are as many task threads as the backend has slots: local[N]'s N threads, or the cores
// of the live executors; a thread that waits for a job started inside a task lends its slot.
//
// A task that fails is retried in the same set until it has failed max_task_attempts times
// (bad input fails the set at once); a task whose executor was lost runs again without that
// counting. A task that cannot fetch a map output stops its set (Spark's zombie task set):
// nothing more is launched, running tasks finish, and the DAG scheduler computes the missing
// outputs and submits the stage again. With speculation, a task running much longer than its
// set's finished ones gets a copy on another executor; the first copy to succeed wins and the
// other is killed. The set tells the DAG scheduler how each partition ended, exactly once, and
// when nothing of it runs any more.
#include "scheduler/task_scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "events/job_events.hpp"
#include "scheduler/task_loss.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

using Clock = std::chrono::steady_clock;

// Marks the task threads of any scheduler, so a job started inside a task lends its slot.
thread_local bool tl_task_thread = false;

// Re-runs of one attempt after its executor was lost, before the set gives up.
constexpr int kMaxLostRuns = 8;

// "in map: bad record" (an operator_error's text, which may have crossed from an executor as
// text) -> {"map", "bad record"}; any other message -> {"", message}.
std::pair<std::string, std::string> split_operator(const std::string& message) {
  if (!message.starts_with("in ")) return {"", message};
  auto colon = message.find(": ", 3);
  if (colon == std::string::npos || colon == 3) return {"", message};
  for (std::size_t i = 3; i < colon; ++i)
    if (!(std::islower(static_cast<unsigned char>(message[i])) || message[i] == '_')) return {"", message};
  return {message.substr(3, colon - 3), message.substr(colon + 2)};
}

}  // namespace

struct TaskScheduler::Impl {
  // A copy of a task waiting in its set's queue.
  struct Pending {
    std::size_t index = 0;  // into the set's partitions
    bool speculative = false;
    std::string avoid;  // executor the copy must not run on
  };
  // A copy that runs.
  struct Running {
    std::size_t index = 0;
    std::shared_ptr<std::atomic<bool>> kill;
    std::string executor;
    Clock::time_point start = Clock::now();
    bool speculative = false;
  };
  struct Part {
    int failures = 0;
    int lost = 0;
    int running = 0;
    bool finished = false;  // a copy succeeded
    bool ended = false;     // its end was told to the DAG scheduler
    bool speculated = false;
  };
  struct Set {
    std::uint64_t id = 0;
    TaskSetSpec spec;
    std::vector<Part> parts;
    std::deque<Pending> queue;
    std::map<std::uint64_t, Running> running;  // by task id
    std::size_t finished = 0;
    std::vector<std::int64_t> durations_ms;  // of successful copies
    bool stopped = false;  // launches nothing more
    bool drained = false;
  };
  // What a thread must do after it lets go of the lock: kill tasks, tell the DAG scheduler.
  struct Afterwards {
    std::vector<std::uint64_t> kills;
    std::vector<std::function<void()>> calls;
    void run(Backend& backend) {
      for (auto id : kills) backend.kill_task(id);
      for (auto& c : calls) {
        auto call = std::move(c);
        call();
      }
      calls.clear();
    }
  };

  Impl(Backend& b, JobListener& l, TaskSchedulerConfig c, std::function<void(TaskAttempt)> r)
      : backend(b), listeners(l), config(c), record(std::move(r)) {
    if (config.speculation) speculator = std::thread([this] { speculate_loop(); });
  }

  Backend& backend;
  JobListener& listeners;
  TaskSchedulerConfig config;
  std::function<void(TaskAttempt)> record;
  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  std::map<std::uint64_t, std::shared_ptr<Set>> sets;
  std::uint64_t next_set = 1;
  std::uint64_t next_task = 1;
  std::size_t running = 0;  // copies running, all sets
  std::size_t lent = 0;     // slots lent by threads waiting for a nested job
  std::map<std::string, std::size_t> running_in_pool;
  std::map<std::string, std::uint64_t> last_launch_in_pool;  // the task id it last launched
  std::vector<std::thread> threads;
  std::thread speculator;

  // Slots tasks may use now. Caller holds mutex.
  std::size_t capacity() { return std::max<std::size_t>(1, backend.slots()) + lent; }

  // Enough task threads for every slot. Caller holds mutex.
  void grow() {
    std::size_t want = capacity();
    while (threads.size() < want) threads.emplace_back([this] { work(); });
  }

  // The set whose next queued task runs first, or nullptr. Caller holds mutex.
  Set* pick() {
    Set* best = nullptr;
    auto fifo_before = [](const Set& a, const Set& b) {
      return std::tie(a.spec.job, a.spec.stage, a.id) < std::tie(b.spec.job, b.spec.stage, b.id);
    };
    for (auto& [id, s] : sets) {
      if (s->stopped || s->queue.empty()) continue;
      if (!best) {
        best = s.get();
        continue;
      }
      if (config.fair) {
        // Spark's fair comparator with weight 1 and no minimum share: the pool running fewer
        // tasks first; on a tie the pool that waited longest since it last got a slot (so pools
        // take even a single slot in turn), then FIFO inside the pool.
        std::size_t ra = running_in_pool[s->spec.pool], rb = running_in_pool[best->spec.pool];
        if (ra != rb) {
          if (ra < rb) best = s.get();
          continue;
        }
        if (s->spec.pool != best->spec.pool) {
          if (last_launch_in_pool[s->spec.pool] < last_launch_in_pool[best->spec.pool]) best = s.get();
          continue;
        }
      }
      if (fifo_before(*s, *best)) best = s.get();
    }
    return best;
  }

  void work() {
    tl_task_thread = true;
    std::unique_lock lock(mutex);
    for (;;) {
      Set* s = nullptr;
      // Slots of executors that come and go are not announced: look again now and then.
      while (!stopping && (running >= capacity() || (s = pick()) == nullptr))
        cv.wait_for(lock, std::chrono::milliseconds(50));
      if (stopping) return;
      grow();
      std::shared_ptr<Set> set = sets.at(s->id);
      Pending p = set->queue.front();
      set->queue.pop_front();
      std::uint64_t task = next_task++;
      Running r{p.index, std::make_shared<std::atomic<bool>>(false), "", Clock::now(), p.speculative};
      auto kill = r.kill;
      set->running.emplace(task, std::move(r));
      set->parts[p.index].running++;
      ++running;
      ++running_in_pool[set->spec.pool];
      last_launch_in_pool[set->spec.pool] = task;
      lock.unlock();
      run(std::move(set), task, p, kill);
      lock.lock();
    }
  }

  // Runs one copy and settles how it ended.
  void run(std::shared_ptr<Set> set, std::uint64_t task, const Pending& p,
           const std::shared_ptr<std::atomic<bool>>& kill) {
    const TaskSetSpec& spec = set->spec;
    std::size_t partition = spec.partitions[p.index];
    int attempt;
    {
      std::lock_guard lock(mutex);
      attempt = set->parts[p.index].failures + 1;
    }
    TaskSpec t = spec.base;
    t.partition = partition;
    t.attempt = attempt;
    t.task_id = task;
    t.kill = kill;
    t.avoid_executor = p.avoid;
    t.speculative = p.speculative;
    std::int64_t start = now_ms();
    std::string executor;
    t.on_launch = [&](const std::string& where) {
      start = now_ms();
      executor = where;
      {
        std::lock_guard lock(mutex);
        auto it = set->running.find(task);
        if (it != set->running.end()) {
          it->second.executor = where;
          it->second.start = Clock::now();
        }
      }
      listeners.on_task_started({spec.job, spec.stage, partition, attempt, where, start});
    };
    using Outcome = TaskAttempt::Outcome;
    Outcome outcome = Outcome::succeeded;
    std::string message;
    std::exception_ptr error;
    std::optional<FetchMiss> miss;
    bool bad_input = false, not_launched = false;
    TaskUpdates u;
    try {
      u = spec.launch(t);
    } catch (const task_killed& k) {
      outcome = Outcome::killed;
      message = k.what();
    } catch (const fetch_failure& f) {
      outcome = Outcome::fetch_failed;
      message = f.what();
      executor = executor.empty() ? f.executor() : executor;
      miss = FetchMiss{f.shuffle(), f.map(), f.executor(), f.what()};
    } catch (const task_not_launched& n) {
      outcome = Outcome::killed;
      message = n.what();
      not_launched = true;
    } catch (const task_lost& l) {
      outcome = Outcome::lost;
      message = l.what();
      if (executor.empty()) executor = l.executor();
    } catch (const input_error& e) {
      outcome = Outcome::failed;
      message = e.what();
      error = std::current_exception();
      bad_input = true;
    } catch (const std::exception& e) {
      outcome = Outcome::failed;
      message = e.what();
      error = std::current_exception();
    } catch (...) {
      outcome = Outcome::failed;
      message = "unknown exception (not derived from std::exception)";
      error = std::current_exception();
    }
    // A copy told to stop may end in any way on its way out: it was killed.
    if (outcome != Outcome::succeeded && kill->load()) {
      outcome = Outcome::killed;
      if (message.empty()) message = "killed";
    }
    if (outcome == Outcome::succeeded) {
      bool first;
      {
        std::lock_guard lock(mutex);
        first = !set->parts[p.index].finished && !set->stopped;
        if (first) set->parts[p.index].finished = true;  // claims the partition: exactly one copy wins
      }
      if (first && spec.accept) {
        try {
          spec.accept(partition, u);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          set->parts[p.index].finished = false;
          outcome = Outcome::failed;
          message = e.what();
          error = std::current_exception();
        }
      }
      if (!first) {
        outcome = Outcome::killed;
        message = "another copy of the task finished first";
      }
    }
    std::int64_t end = now_ms();
    if (!not_launched) {
      TaskAttempt a{spec.job, spec.stage, spec.shuffle, partition, attempt, executor.empty() ? u.executor : executor,
                    outcome, message, p.speculative};
      listeners.on_task_ended({a, end, end - start, outcome == Outcome::succeeded ? u.counters : Counters{}});
      record(std::move(a));
    }
    Afterwards after;
    bool requeued;
    {
      std::lock_guard lock(mutex);
      std::size_t queued = set->queue.size();
      settle(*set, task, p, outcome, message, error, bad_input, not_launched, miss, end - start, after);
      requeued = set->queue.size() > queued;
    }
    // This thread takes the next task itself; others are woken only for work it adds.
    if (requeued) cv.notify_all();
    // What the set holds (its stage, and through it the shuffle) goes before the DAG scheduler
    // hears of the end, so that a job it completes finds the shuffle free to clean up.
    set.reset();
    after.run(backend);
  }

  // Books the end of copy `task` of `set` and decides what follows. Caller holds mutex.
  void settle(Set& set, std::uint64_t task, const Pending& p, TaskAttempt::Outcome outcome,
              const std::string& message, std::exception_ptr error, bool bad_input, bool not_launched,
              const std::optional<FetchMiss>& miss, std::int64_t duration_ms, Afterwards& after) {
    using Outcome = TaskAttempt::Outcome;
    set.running.erase(task);
    --running;
    --running_in_pool[set.spec.pool];
    Part& part = set.parts[p.index];
    part.running--;
    auto self = sets.at(set.id);
    switch (outcome) {
      case Outcome::succeeded:
        set.durations_ms.push_back(duration_ms);
        ++set.finished;
        // The other copies of the partition are not needed any more.
        for (auto& [id, r] : set.running)
          if (r.index == p.index) {
            r.kill->store(true);
            after.kills.push_back(id);
          }
        end_partition(set, p.index, PartitionEnd::succeeded, nullptr, after);
        break;
      case Outcome::fetch_failed:
        if (!set.stopped) {
          set.stopped = true;
          drop_queue(set, after);
        }
        end_partition(set, p.index, PartitionEnd::fetch_failed, &*miss, after);
        break;
      case Outcome::killed:
        if (not_launched) part.speculated = false;  // no other executor was free: try again later
        break;
      case Outcome::lost:
        if (set.stopped || part.finished || part.running > 0) break;
        if (++part.lost > kMaxLostRuns) {
          abort(set, std::make_exception_ptr(job_error(
                         fmt::format("job failed: stage {} ({}) partition {} was lost with its executor {} times; "
                                     "last: {}. A task whose executor dies every time it runs often crashes it "
                                     "(see the executors' logs): functions passed to operators run in executor "
                                     "processes: capture values, not references or pointers",
                                     set.spec.stage, set.spec.name, set.spec.partitions[p.index], part.lost, message),
                         message, set.spec.stage, set.spec.partitions[p.index], part.failures + 1)),
                after);
          break;
        }
        set.queue.push_front({p.index, false, ""});
        break;
      case Outcome::failed:
        if (set.stopped || part.finished) break;
        ++part.failures;
        if (bad_input || part.failures >= config.max_task_attempts) {
          abort(set, failure(set, p.index, message, bad_input ? error : nullptr), after);
          break;
        }
        if (part.running == 0) set.queue.push_front({p.index, false, ""});
        break;
    }
    // A stopped set's partitions that no copy runs any more end as dropped.
    if (set.stopped)
      for (std::size_t i = 0; i < set.parts.size(); ++i)
        if (!set.parts[i].ended && set.parts[i].running == 0) end_partition(set, i, PartitionEnd::dropped, nullptr, after);
    maybe_drained(set, after);
  }

  // The error a set fails with after a task failed for good.
  std::exception_ptr failure(const Set& set, std::size_t index, const std::string& message,
                             std::exception_ptr input) {
    if (input) return input;  // bad input says where itself, file and line
    const Part& part = set.parts[index];
    std::size_t partition = set.spec.partitions[index];
    auto [op, user_message] = split_operator(message);
    return std::make_exception_ptr(
        job_error(fmt::format("job failed: stage {} ({}) partition {} failed {} time{} (last: attempt {}); last "
                              "error: {}",
                              set.spec.stage, set.spec.name, partition, part.failures, part.failures == 1 ? "" : "s",
                              part.failures, message),
                  user_message, set.spec.stage, partition, part.failures, op));
  }

  // Tells the DAG scheduler how partition `index` ended, once. Caller holds mutex.
  void end_partition(Set& set, std::size_t index, PartitionEnd how, const FetchMiss* miss, Afterwards& after) {
    Part& part = set.parts[index];
    if (part.ended) return;
    part.ended = true;
    if (!set.spec.on_partition_ended) return;
    std::size_t partition = set.spec.partitions[index];
    std::optional<FetchMiss> copy;
    if (miss) copy = *miss;
    after.calls.push_back([cb = set.spec.on_partition_ended, partition, how, copy] {
      cb(partition, how, copy ? &*copy : nullptr);
    });
  }

  // Stops a set: queued tasks are dropped and running ones killed. Caller holds mutex.
  void stop(Set& set, Afterwards& after) {
    if (set.stopped) return;
    set.stopped = true;
    drop_queue(set, after);
    for (auto& [id, r] : set.running) {
      r.kill->store(true);
      after.kills.push_back(id);
    }
  }

  void drop_queue(Set& set, Afterwards&) { set.queue.clear(); }

  void abort(Set& set, std::exception_ptr error, Afterwards& after) {
    bool was = set.stopped;
    stop(set, after);
    if (!was && set.spec.on_aborted) after.calls.push_back([cb = set.spec.on_aborted, error] { cb(error); });
  }

  // Tells the DAG scheduler once nothing of the set runs any more, and forgets it. Caller holds
  // mutex.
  void maybe_drained(Set& set, Afterwards& after) {
    if (set.drained || !set.running.empty()) return;
    if (!set.stopped && set.finished < set.parts.size()) return;
    if (!set.queue.empty() && !set.stopped) return;
    for (std::size_t i = 0; i < set.parts.size(); ++i)
      if (!set.parts[i].ended) end_partition(set, i, PartitionEnd::dropped, nullptr, after);
    set.drained = true;
    if (set.spec.on_drained) after.calls.push_back(set.spec.on_drained);
    sets.erase(set.id);
  }

  // Every tenth of a second: copies of slow tasks, by Spark's rules.
  void speculate_loop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      if (stopping) break;
      bool queued = false;
      for (auto& [id, s] : sets) {
        Set& set = *s;
        if (set.stopped || !set.spec.speculatable || set.durations_ms.empty()) continue;
        std::size_t n = set.parts.size();
        std::size_t needed = std::max<std::size_t>(1, static_cast<std::size_t>(config.speculation_quantile * n));
        if (set.finished < needed) continue;
        std::vector<std::int64_t> d = set.durations_ms;
        std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
        auto threshold = std::max<std::chrono::milliseconds>(
            config.speculation_min,
            std::chrono::milliseconds(static_cast<std::int64_t>(config.speculation_multiplier * d[d.size() / 2])));
        auto now = Clock::now();
        for (auto& [task, r] : set.running) {
          Part& part = set.parts[r.index];
          if (part.finished || part.speculated || part.running != 1 || r.executor.empty()) continue;
          if (now - r.start < threshold) continue;
          part.speculated = true;
          set.queue.push_back({r.index, true, r.executor});
          queued = true;
        }
      }
      if (queued) cv.notify_all();
    }
  }
};

TaskScheduler::TaskScheduler(Backend& backend, JobListener& listeners, TaskSchedulerConfig config,
                             std::function<void(TaskAttempt)> record)
    : impl_(std::make_unique<Impl>(backend, listeners, config, std::move(record))) {}

TaskScheduler::~TaskScheduler() {
  std::vector<std::uint64_t> kills;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    for (auto& [id, s] : impl_->sets)
      for (auto& [task, r] : s->running) {
        r.kill->store(true);
        kills.push_back(task);
      }
  }
  impl_->cv.notify_all();
  for (auto id : kills) impl_->backend.kill_task(id);
  for (auto& t : impl_->threads) t.join();
  if (impl_->speculator.joinable()) impl_->speculator.join();
}

std::uint64_t TaskScheduler::submit(TaskSetSpec spec) {
  Impl::Afterwards after;
  std::uint64_t id;
  {
    std::lock_guard lock(impl_->mutex);
    auto set = std::make_shared<Impl::Set>();
    id = set->id = impl_->next_set++;
    set->parts.resize(spec.partitions.size());
    for (std::size_t i = 0; i < spec.partitions.size(); ++i) set->queue.push_back({i, false, ""});
    set->spec = std::move(spec);
    impl_->sets.emplace(id, set);
    impl_->maybe_drained(*set, after);  // a set of no tasks is done at once
    impl_->grow();
  }
  impl_->cv.notify_all();
  after.run(impl_->backend);
  return id;
}

void TaskScheduler::cancel(std::uint64_t set) {
  Impl::Afterwards after;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->sets.find(set);
    if (it == impl_->sets.end()) return;
    auto keep = it->second;
    impl_->stop(*keep, after);
    for (std::size_t i = 0; i < keep->parts.size(); ++i)
      if (!keep->parts[i].ended && keep->parts[i].running == 0)
        impl_->end_partition(*keep, i, PartitionEnd::dropped, nullptr, after);
    impl_->maybe_drained(*keep, after);
  }
  impl_->cv.notify_all();
  after.run(impl_->backend);
}

void TaskScheduler::lend_slot() {
  {
    std::lock_guard lock(impl_->mutex);
    ++impl_->lent;
    impl_->grow();
  }
  impl_->cv.notify_all();
}

void TaskScheduler::return_slot() {
  std::lock_guard lock(impl_->mutex);
  --impl_->lent;
}

bool TaskScheduler::on_task_thread() noexcept { return tl_task_thread; }

}  // namespace spate::detail
