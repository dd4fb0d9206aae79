// LiveStatus: one mutex over small maps; the page polls about once a second and the scheduler
// reports a few thousand events a second at most, so nothing here needs to be clever.
#include "events/live_status.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

namespace spate::detail {

namespace {

namespace json = boost::json;

json::value time_or_null(std::int64_t t) { return t == 0 ? json::value(nullptr) : json::value(t); }

const char* status_of(TaskAttempt::Outcome o) {
  switch (o) {
    case TaskAttempt::Outcome::succeeded: return "succeeded";
    case TaskAttempt::Outcome::failed: return "failed";
    case TaskAttempt::Outcome::lost: return "lost";
    case TaskAttempt::Outcome::fetch_failed: return "fetch_failed";
    case TaskAttempt::Outcome::killed: return "killed";
  }
  return "failed";
}

template <class Map>
void trim(Map& m, std::size_t keep) {
  while (m.size() > keep) m.erase(m.begin());
}

}  // namespace

LiveStatus::LiveStatus(std::string app, std::string master, Driver driver,
                       std::function<std::vector<ExecutorInfo>()> executors)
    : app_(std::move(app)),
      master_(std::move(master)),
      driver_(std::move(driver)),
      executor_infos_(std::move(executors)) {}

LiveStatus::Executor& LiveStatus::executor(const std::string& id) {
  auto [it, inserted] = executors_.try_emplace(id);
  if (inserted) it->second.id = id;
  return it->second;
}

void LiveStatus::on_job_started(const JobStarted& e) {
  std::lock_guard lock(mutex_);
  Job& j = jobs_[e.job];
  j.job = e.job;
  j.description = e.description;
  j.start = e.time;
  // The whole DAG from the start, as Spark shows it: stages not yet run are pending; a map
  // stage that already ran for an earlier job keeps what it showed then.
  for (const StagePlan& p : e.stages) {
    j.stages.push_back(p.stage);
    auto [it, inserted] = stages_.try_emplace(p.stage);
    if (!inserted && it->second.status != "pending") continue;
    Stage& s = it->second;
    s.stage = p.stage;
    s.job = e.job;
    s.shuffle = p.shuffle;
    s.name = p.name;
    s.status = "pending";
    s.tasks = p.partitions;
    s.parents = p.parents;
  }
  trim(jobs_, kRetained);
  trim(stages_, kRetained);
}

void LiveStatus::on_stage_submitted(const StageSubmitted& e) {
  std::lock_guard lock(mutex_);
  Stage& s = stages_[e.stage];
  // A map stage reused or resubmitted by a later job starts afresh as that job's stage.
  s = Stage{};
  s.stage = e.stage;
  s.job = e.job;
  s.shuffle = e.shuffle;
  s.name = e.name;
  s.tasks = e.tasks;
  s.parents = e.parents;
  s.start = e.time;
  s.submitted = ++submissions_;
  if (auto j = jobs_.find(e.job); j != jobs_.end()) {
    auto& ids = j->second.stages;
    if (std::find(ids.begin(), ids.end(), e.stage) == ids.end()) ids.push_back(e.stage);
  }
  trim(stages_, kRetained);
}

void LiveStatus::on_task_started(const TaskStarted& e) {
  std::lock_guard lock(mutex_);
  auto s = stages_.find(e.stage);
  if (s == stages_.end()) return;
  s->second.running++;
  Task t;
  t.partition = e.partition;
  t.attempt = e.attempt;
  t.executor = e.executor;
  t.start = e.time;
  s->second.task_list.push_back(std::move(t));
  executor(e.executor).running++;
}

void LiveStatus::on_task_ended(const TaskEnded& e) {
  const TaskAttempt& a = e.attempt;
  std::lock_guard lock(mutex_);
  bool ok = a.outcome == TaskAttempt::Outcome::succeeded;
  if (!ok) ++retries_;
  auto s = stages_.find(a.stage);
  if (s == stages_.end()) return;
  Stage& st = s->second;
  // The newest running record of this partition is the attempt that ended.
  Task* t = nullptr;
  for (auto it = st.task_list.rbegin(); it != st.task_list.rend(); ++it)
    if (it->partition == a.partition && it->status == "running") {
      t = &*it;
      break;
    }
  if (t != nullptr) {
    if (st.running > 0) st.running--;
    if (auto x = executors_.find(t->executor); x != executors_.end() && x->second.running > 0) x->second.running--;
    t->executor = a.executor.empty() ? t->executor : a.executor;
    t->status = status_of(a.outcome);
    t->duration_ms = e.duration_ms;
    t->records_in = e.records_in();
    t->bytes_in = e.bytes_in();
    t->records_out = e.records_out();
    t->bytes_out = e.bytes_out();
    t->message = a.message;
  }
  if (!ok) {
    st.failed++;
    return;
  }
  st.done++;
  st.records_in += e.records_in();
  st.bytes_in += e.bytes_in();
  st.records_out += e.records_out();
  st.bytes_out += e.bytes_out();
  st.shuffle_read_bytes += e.counter("shuffle.read.bytes");
  st.shuffle_write_bytes += e.counter("shuffle.write.bytes");
  st.spill_bytes += e.counter("spill.bytes");
  Executor& x = executor(a.executor);
  x.done++;
  x.shuffle_read_bytes += e.counter("shuffle.read.bytes");
  x.shuffle_write_bytes += e.counter("shuffle.write.bytes");
}

void LiveStatus::on_stage_completed(const StageCompleted& e) {
  std::lock_guard lock(mutex_);
  auto s = stages_.find(e.stage);
  if (s == stages_.end()) return;
  s->second.status = e.succeeded ? "succeeded" : "failed";
  s->second.end = e.time;
}

void LiveStatus::on_job_ended(const JobEnded& e) {
  std::lock_guard lock(mutex_);
  auto j = jobs_.find(e.job);
  if (j == jobs_.end()) return;
  j->second.status = e.succeeded ? "succeeded" : "failed";
  j->second.end = e.time;
  j->second.error = e.error;
  // Stages a failed job leaves behind (its other tasks were abandoned) are not running any more;
  // stages it never had to run (their shuffle was there) were skipped, as Spark says.
  for (int id : j->second.stages) {
    auto s = stages_.find(id);
    if (s == stages_.end() || s->second.job != e.job) continue;
    if (s->second.status == "running") {
      s->second.status = e.succeeded ? "succeeded" : "failed";
      s->second.end = e.time;
    } else if (s->second.status == "pending") {
      s->second.status = "skipped";
    }
  }
}

void LiveStatus::on_executor_added(const ExecutorAdded& e) {
  std::lock_guard lock(mutex_);
  Executor& x = executor(e.info.id);
  x.pid = e.info.pid;
  x.address = e.info.block_address;
  x.cores = e.info.cores;
  x.alive = true;
}

void LiveStatus::on_executor_lost(const ExecutorLost& e) {
  std::lock_guard lock(mutex_);
  Executor& x = executor(e.executor);
  x.alive = false;
  x.lost_reason = e.reason;
  x.running = 0;
  ++executors_lost_;
}

ProgressSnapshot LiveStatus::progress() const {
  std::lock_guard lock(mutex_);
  ProgressSnapshot p;
  p.retries = retries_;
  p.executors_lost = executors_lost_;
  for (const auto& [id, j] : jobs_) {
    if (j.status != "running") continue;
    if (p.running_jobs++ == 0 || j.start < p.since) p.since = j.start;
  }
  if (p.running_jobs == 0) return p;
  const Stage* newest = nullptr;
  for (const auto& [id, s] : stages_) {
    auto j = jobs_.find(s.job);
    if (j == jobs_.end() || j->second.status != "running") continue;
    p.records_in += s.records_in;
    p.bytes_in += s.bytes_in;
    if (s.status == "running" && (newest == nullptr || s.submitted > newest->submitted)) newest = &s;
  }
  if (newest != nullptr) {
    p.stage = newest->stage;
    p.stage_name = newest->name;
    p.tasks = newest->tasks;
    p.done = newest->done;
    p.running = newest->running;
  }
  return p;
}

std::optional<std::string> LiveStatus::api(std::string_view path) const {
  std::string_view query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/api/app") return app_json();
  if (path == "/api/jobs") return jobs_json();
  if (path == "/api/executors") return executors_json();
  if (path == "/api/stages") {
    std::optional<std::uint64_t> job;
    if (query.starts_with("job=")) {
      std::uint64_t n = 0;
      auto v = query.substr(4);
      if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc{}) return std::nullopt;
      job = n;
    }
    return stages_json(job);
  }
  constexpr std::string_view kStages = "/api/stages/";
  if (path.starts_with(kStages) && path.ends_with("/tasks")) {
    auto id = path.substr(kStages.size(), path.size() - kStages.size() - 6);
    int stage = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), stage);
    if (ec != std::errc{} || end != id.data() + id.size()) return std::nullopt;
    return tasks_json(stage);
  }
  return std::nullopt;
}

std::string LiveStatus::app_json() const {
  std::lock_guard lock(mutex_);
  json::object o;
  o["app"] = app_;
  o["master"] = master_;
  o["start"] = start_;
  o["now"] = now_ms();
  std::size_t running = 0;
  for (const auto& [id, j] : jobs_) running += j.status == "running";
  o["running_jobs"] = running;
  return json::serialize(o);
}

std::string LiveStatus::jobs_json() const {
  std::lock_guard lock(mutex_);
  json::array out;
  std::int64_t now = now_ms();
  for (const auto& [id, j] : jobs_) {
    json::object o;
    o["job"] = j.job;
    o["description"] = j.description;
    o["status"] = j.status;
    o["start"] = j.start;
    o["end"] = time_or_null(j.end);
    o["duration_ms"] = (j.end ? j.end : now) - j.start;
    json::array stages;
    for (int s : j.stages) stages.push_back(s);
    o["stages"] = std::move(stages);
    o["error"] = j.error;
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::string LiveStatus::stages_json(std::optional<std::uint64_t> job) const {
  std::lock_guard lock(mutex_);
  json::array out;
  std::int64_t now = now_ms();
  for (const auto& [id, s] : stages_) {
    if (job && s.job != *job) continue;
    json::object o;
    o["stage"] = s.stage;
    o["job"] = s.job;
    o["kind"] = s.shuffle >= 0 ? "map" : "result";
    o["shuffle"] = s.shuffle;
    o["name"] = s.name;
    o["status"] = s.status;
    o["tasks"] = s.tasks;
    o["done"] = s.done;
    o["running"] = s.running;
    o["failed"] = s.failed;
    json::array parents;
    for (int p : s.parents) parents.push_back(p);
    o["parents"] = std::move(parents);
    o["records_in"] = s.records_in;
    o["bytes_in"] = s.bytes_in;
    o["records_out"] = s.records_out;
    o["bytes_out"] = s.bytes_out;
    o["shuffle_read_bytes"] = s.shuffle_read_bytes;
    o["shuffle_write_bytes"] = s.shuffle_write_bytes;
    o["spill_bytes"] = s.spill_bytes;
    o["start"] = time_or_null(s.start);
    o["end"] = time_or_null(s.end);
    o["duration_ms"] = s.start == 0 ? 0 : (s.end ? s.end : now) - s.start;
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::optional<std::string> LiveStatus::tasks_json(int stage) const {
  std::lock_guard lock(mutex_);
  auto s = stages_.find(stage);
  if (s == stages_.end()) return std::nullopt;
  json::array out;
  std::int64_t now = now_ms();
  for (const Task& t : s->second.task_list) {
    json::object o;
    o["partition"] = t.partition;
    o["attempt"] = t.attempt;
    o["executor"] = t.executor;
    o["status"] = t.status;
    o["start"] = t.start;
    o["duration_ms"] = t.status == "running" ? now - t.start : t.duration_ms;
    o["records_in"] = t.records_in;
    o["bytes_in"] = t.bytes_in;
    o["records_out"] = t.records_out;
    o["bytes_out"] = t.bytes_out;
    o["message"] = t.message;
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::string LiveStatus::executors_json() const {
  // Memory figures are the backend's (executors report them with their heartbeats); asked for
  // before taking our lock, so that the two locks are never held together.
  std::vector<ExecutorInfo> infos = executor_infos_ ? executor_infos_() : std::vector<ExecutorInfo>{};
  std::lock_guard lock(mutex_);
  json::array out;
  auto add = [&](const Executor& x, std::uint64_t used, std::uint64_t budget) {
    json::object o;
    o["executor"] = x.id;
    o["pid"] = x.pid;
    o["address"] = x.address;
    o["cores"] = x.cores;
    o["state"] = x.alive ? "alive" : "lost";
    o["running_tasks"] = x.running;
    o["tasks_done"] = x.done;
    o["memory_used"] = used;
    o["memory_budget"] = budget;
    o["shuffle_read_bytes"] = x.shuffle_read_bytes;
    o["shuffle_write_bytes"] = x.shuffle_write_bytes;
    o["lost_reason"] = x.lost_reason;
    out.push_back(std::move(o));
  };
  if (infos.empty()) {
    // Local modes: the driver runs the tasks.
    Executor d;
    if (auto it = executors_.find("driver"); it != executors_.end()) d = it->second;
    d.id = "driver";
    d.pid = static_cast<std::uint64_t>(::getpid());
    d.address = "";
    d.alive = true;
    d.cores = driver_.cores;
    add(d, driver_.memory_used ? driver_.memory_used() : 0, driver_.memory_budget);
    return json::serialize(out);
  }
  for (const ExecutorInfo& info : infos) {
    auto it = executors_.find(info.id);
    Executor x = it != executors_.end() ? it->second : Executor{};
    x.id = info.id;
    x.pid = info.pid;
    x.address = info.block_address;
    x.cores = info.cores;
    x.alive = info.alive;
    add(x, info.memory_used, info.memory_budget);
  }
  return json::serialize(out);
}

}  // namespace spate::detail
