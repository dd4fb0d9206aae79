// The event log's lines, built with Boost.JSON so that any text (an error message, an operator
// name) is escaped correctly.
#include "events/event_log.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "spate/error.hpp"

namespace spate::detail {

namespace {

namespace json = boost::json;

constexpr int kVersion = 1;

json::object event(const char* kind, std::int64_t time) {
  json::object o;
  o["event"] = kind;
  o["time"] = time;
  return o;
}

const char* outcome_name(TaskAttempt::Outcome o) {
  switch (o) {
    case TaskAttempt::Outcome::succeeded: return "succeeded";
    case TaskAttempt::Outcome::failed: return "failed";
    case TaskAttempt::Outcome::lost: return "lost";
    case TaskAttempt::Outcome::fetch_failed: return "fetch_failed";
    case TaskAttempt::Outcome::killed: return "killed";
  }
  return "unknown";
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

EventLog::EventLog(const std::string& dir, const std::string& app, const std::string& master) : start_(now_ms()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw config_error(fmt::format("--event-log {}: cannot create the directory: {}", dir, ec.message()));
  for (int n = 1; file_ == nullptr && n <= 100; ++n) {
    app_ = n == 1 ? app : fmt::format("{}-{}", app, n);
    path_ = (std::filesystem::path(dir) / fmt::format("spate-events-{}.jsonl", app_)).string();
    file_ = std::fopen(path_.c_str(), "wx");
    if (file_ == nullptr && errno != EEXIST) break;
  }
  if (file_ == nullptr)
    throw config_error(fmt::format("--event-log {}: cannot create {}: {}", dir, path_, std::strerror(errno)));
  json::object o = event("log_start", start_);
  o["version"] = kVersion;
  o["app"] = app_;
  o["master"] = master;
  o["pid"] = static_cast<std::int64_t>(::getpid());
  o["host"] = host_name();
  o["spate_version"] = SPATE_VERSION;
  write(json::serialize(o), true);
}

EventLog::~EventLog() {
  json::object o = event("log_end", now_ms());
  o["duration_ms"] = now_ms() - start_;
  write(json::serialize(o), true);
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) std::fclose(file_);
}

void EventLog::write(const std::string& line, bool flush) {
  std::lock_guard lock(mutex_);
  if (file_ == nullptr) return;
  std::string l = line + '\n';
  bool ok = std::fwrite(l.data(), 1, l.size(), file_) == l.size();
  if (ok && flush) ok = std::fflush(file_) == 0;
  if (!ok) {
    std::fprintf(stderr, "spate: event log %s: write failed (%s); no more events are written to it\n",
                 path_.c_str(), std::strerror(errno));
    std::fclose(file_);
    file_ = nullptr;
  }
}

void EventLog::on_job_started(const JobStarted& e) {
  json::object o = event("job_start", e.time);
  o["job"] = e.job;
  o["description"] = e.description;
  o["partitions"] = e.partitions;
  json::array stages;
  for (const StagePlan& p : e.stages) {
    json::object st;
    st["stage"] = p.stage;
    st["kind"] = p.shuffle >= 0 ? "map" : "result";
    st["shuffle"] = p.shuffle;
    st["name"] = p.name;
    st["partitions"] = p.partitions;
    json::array parents;
    for (int id : p.parents) parents.push_back(id);
    st["parents"] = std::move(parents);
    stages.push_back(std::move(st));
  }
  o["stages"] = std::move(stages);
  write(json::serialize(o), true);
}

void EventLog::on_stage_submitted(const StageSubmitted& e) {
  json::object o = event("stage_submitted", e.time);
  o["job"] = e.job;
  o["stage"] = e.stage;
  o["kind"] = e.shuffle >= 0 ? "map" : "result";
  o["shuffle"] = e.shuffle;
  o["name"] = e.name;
  o["tasks"] = e.tasks;
  o["partitions"] = e.partitions;
  json::array parents;
  for (int p : e.parents) parents.push_back(p);
  o["parents"] = std::move(parents);
  o["attempt"] = e.attempt;
  write(json::serialize(o), true);
}

void EventLog::on_task_started(const TaskStarted& e) {
  json::object o = event("task_start", e.time);
  o["job"] = e.job;
  o["stage"] = e.stage;
  o["partition"] = e.partition;
  o["attempt"] = e.attempt;
  o["executor"] = e.executor;
  write(json::serialize(o), false);
}

void EventLog::on_task_ended(const TaskEnded& e) {
  const TaskAttempt& a = e.attempt;
  json::object o = event("task_end", e.time);
  o["job"] = a.job;
  o["stage"] = a.stage;
  o["partition"] = a.partition;
  o["attempt"] = a.attempt;
  o["executor"] = a.executor;
  o["outcome"] = outcome_name(a.outcome);
  if (a.speculative) o["speculative"] = true;
  o["message"] = a.message;
  o["duration_ms"] = e.duration_ms;
  o["records_in"] = e.records_in();
  o["bytes_in"] = e.bytes_in();
  o["records_out"] = e.records_out();
  o["bytes_out"] = e.bytes_out();
  for (auto [member, counter] : {std::pair{"input_records", "input.records"},
                                 {"input_bytes", "input.bytes"},
                                 {"shuffle_read_records", "shuffle.read.records"},
                                 {"shuffle_read_bytes", "shuffle.read.bytes"},
                                 {"shuffle_remote_bytes", "shuffle.remote_bytes"},
                                 {"shuffle_write_records", "shuffle.write.records"},
                                 {"shuffle_write_bytes", "shuffle.write.bytes"},
                                 {"output_records", "output.records"},
                                 {"output_bytes", "output.bytes"},
                                 {"spill_bytes", "spill.bytes"}})
    o[member] = e.counter(counter);
  json::object counters;
  for (const auto& [name, n] : e.counters) counters[name] = n;
  o["counters"] = std::move(counters);
  write(json::serialize(o), false);
}

void EventLog::on_stage_completed(const StageCompleted& e) {
  json::object o = event("stage_completed", e.time);
  o["job"] = e.job;
  o["stage"] = e.stage;
  o["attempt"] = e.attempt;
  o["duration_ms"] = e.duration_ms;
  o["succeeded"] = e.succeeded;
  o["message"] = e.message;
  write(json::serialize(o), true);
}

void EventLog::on_job_ended(const JobEnded& e) {
  json::object o = event("job_end", e.time);
  o["job"] = e.job;
  o["duration_ms"] = e.duration_ms;
  o["succeeded"] = e.succeeded;
  o["error"] = e.error;
  write(json::serialize(o), true);
}

void EventLog::on_executor_added(const ExecutorAdded& e) {
  json::object o = event("executor_added", e.time);
  o["executor"] = e.info.id;
  o["pid"] = e.info.pid;
  o["address"] = e.info.block_address;
  o["cores"] = e.info.cores;
  write(json::serialize(o), true);
}

void EventLog::on_executor_lost(const ExecutorLost& e) {
  json::object o = event("executor_lost", e.time);
  o["executor"] = e.executor;
  o["reason"] = e.reason;
  write(json::serialize(o), true);
}

}  // namespace spate::detail
