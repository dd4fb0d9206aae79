// Reads an event log line by line into jobs, stages, tasks and executors, then prints the summary
// from that model: the reading half checks the format, the printing half only does arithmetic.
#include "history/history_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>

#include "spate/error.hpp"

namespace spate::history {

namespace {

namespace json = boost::json;

// ---- Reading -----------------------------------------------------------------------------------

// The members of one event, read with errors that name the file, line and event.
class Fields {
 public:
  Fields(const json::object& o, const std::string& file, std::int64_t line, std::string_view event)
      : o_(o), file_(file), line_(line), event_(event) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(fmt::format("{}:{}: {}", file_, line_, what));
  }

  std::int64_t integer(std::string_view key) const { return to_integer(key, need(key)); }
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const {
    const json::value* v = o_.if_contains(key);
    return v == nullptr || v->is_null() ? fallback : to_integer(key, *v);
  }
  int small_integer(std::string_view key) const { return narrow(key, integer(key)); }
  int small_integer_or(std::string_view key, int fallback) const {
    return narrow(key, integer_or(key, fallback));
  }

  std::string text_or(std::string_view key, std::string fallback = {}) const {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_string()) wrong_type(key, "a string", *v);
    return std::string(v->get_string());
  }
  std::string text(std::string_view key) const {
    const json::value& v = need(key);
    if (!v.is_string()) wrong_type(key, "a string", v);
    return std::string(v.get_string());
  }

  // Executor ids are strings in the writer; a number is taken too, since the format does not say.
  std::string id(std::string_view key) const {
    const json::value& v = need(key);
    if (v.is_string()) return std::string(v.get_string());
    return std::to_string(to_integer(key, v));
  }

  bool boolean(std::string_view key) const {
    const json::value& v = need(key);
    if (!v.is_bool()) wrong_type(key, "true or false", v);
    return v.get_bool();
  }

  std::vector<int> integers_or_empty(std::string_view key) const {
    std::vector<int> out;
    const json::value* v = o_.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) wrong_type(key, "an array of numbers", *v);
    for (const json::value& e : v->get_array()) out.push_back(narrow(key, to_integer(key, e)));
    return out;
  }

 private:
  const json::value& need(std::string_view key) const {
    const json::value* v = o_.if_contains(key);
    if (v == nullptr) fail(fmt::format("{} has no \"{}\"", event_, key));
    return *v;
  }

  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected,
                               const json::value& v) const {
    fail(fmt::format("{}: \"{}\" should be {}, not {}", event_, key, expected,
                     std::string_view(json::to_string(v.kind()))));
  }

  std::int64_t to_integer(std::string_view key, const json::value& v) const {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() &&
        v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(v.get_uint64());
    // A writer in another language may print whole numbers as doubles (1e3).
    if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
        std::abs(v.get_double()) < 9e15)
      return static_cast<std::int64_t>(v.get_double());
    wrong_type(key, "a whole number", v);
  }

  int narrow(std::string_view key, std::int64_t n) const {
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max())
      fail(fmt::format("{}: \"{}\" is out of range: {}", event_, key, n));
    return static_cast<int>(n);
  }

  const json::object& o_;
  const std::string& file_;
  std::int64_t line_;
  std::string_view event_;
};

// Folds events into an EventLog. Events may come a little out of order (the writer is called
// from several threads) and a log may start mid-story, so an event about a job or stage not yet
// seen creates it rather than failing.
class LogBuilder {
 public:
  explicit LogBuilder(std::string name) { log_.name = std::move(name); }

  void add(const std::string& event, const Fields& f) {
    if (event == "log_start") return;  // handled by read_event_log, which must see it first
    std::int64_t time = f.integer("time");
    log_.last_time = std::max(log_.last_time, time);
    if (event == "executor_added") {
      Executor& e = executor(f.id("executor"));
      e.pid = f.integer_or("pid", 0);
      e.address = f.text_or("address");
      e.cores = f.integer_or("cores", 0);
      e.added_time = time;
    } else if (event == "executor_lost") {
      Executor& e = executor(f.id("executor"));
      e.lost_time = time;
      e.lost_reason = f.text_or("reason");
    } else if (event == "job_start") {
      Job& j = job(f.small_integer("job"), time);
      j.description = f.text_or("description");
      j.partitions = f.integer_or("partitions", 0);
      j.start_time = time;
    } else if (event == "stage_submitted") {
      Stage& s = stage(f.small_integer("job"), f.small_integer("stage"), time);
      s.shuffle = f.small_integer_or("shuffle", -1);
      s.kind = f.text_or("kind", s.shuffle >= 0 ? "map" : "result");
      s.name = f.text_or("name");
      s.partitions = f.integer_or("partitions", 0);
      s.parents = f.integers_or_empty("parents");
      StageAttempt a;
      a.attempt = f.small_integer_or("attempt", 1);
      a.submitted_time = time;
      a.tasks = f.integer_or("tasks", s.partitions);
      s.attempts.push_back(a);
    } else if (event == "task_start") {
      int j = f.small_integer("job"), st = f.small_integer("stage");
      stage(j, st, time);
      seen_running(f.id("executor"));
      ++running_[{j, st, f.integer("partition"), f.small_integer("attempt")}];
    } else if (event == "task_end") {
      add_task_end(f, time);
    } else if (event == "stage_completed") {
      Stage& s = stage(f.small_integer("job"), f.small_integer("stage"), time);
      int attempt = f.small_integer("attempt");
      std::int64_t duration = f.integer("duration_ms");
      auto it = std::find_if(s.attempts.rbegin(), s.attempts.rend(), [&](const StageAttempt& a) {
        return a.attempt == attempt && !a.completed_time;
      });
      StageAttempt* a = it == s.attempts.rend() ? nullptr : &*it;
      if (a == nullptr) {
        a = &s.attempts.emplace_back();
        a->attempt = attempt;
        a->submitted_time = time - duration;
      }
      a->completed_time = time;
      a->duration_ms = duration;
      a->succeeded = f.boolean("succeeded");
      a->message = f.text_or("message");
    } else if (event == "job_end") {
      Job& j = job(f.small_integer("job"), time);
      j.end_time = time;
      j.duration_ms = f.integer("duration_ms");
      j.succeeded = f.boolean("succeeded");
      j.error = f.text_or("error");
    } else if (event == "log_end") {
      log_.duration_ms = f.integer("duration_ms");
    }
    // Any other event is newer than this reader; the format says to skip it.
  }

  EventLog& log() { return log_; }

  EventLog finish() {
    for (const auto& [key, count] : running_) {
      if (count <= 0) continue;
      stage(std::get<0>(key), std::get<1>(key), log_.last_time).unfinished_tasks += count;
    }
    return std::move(log_);
  }

 private:
  void add_task_end(const Fields& f, std::int64_t time) {
    TaskEnd t;
    int j = f.small_integer("job");
    t.stage = f.small_integer("stage");
    t.partition = f.integer("partition");
    t.attempt = f.small_integer("attempt");
    t.executor = f.id("executor");
    t.outcome = f.text("outcome");
    t.message = f.text_or("message");
    t.time = time;
    t.duration_ms = f.integer("duration_ms");
    t.records_in = f.integer_or("records_in", 0);
    t.bytes_in = f.integer_or("bytes_in", 0);
    t.records_out = f.integer_or("records_out", 0);
    t.bytes_out = f.integer_or("bytes_out", 0);
    t.shuffle_read_bytes = f.integer_or("shuffle_read_bytes", 0);
    t.shuffle_remote_bytes = f.integer_or("shuffle_remote_bytes", 0);
    t.shuffle_write_bytes = f.integer_or("shuffle_write_bytes", 0);
    t.spill_bytes = f.integer_or("spill_bytes", 0);
    seen_running(t.executor);
    auto running = running_.find({j, t.stage, t.partition, t.attempt});
    if (running != running_.end()) --running->second;
    stage(j, t.stage, time).tasks.push_back(std::move(t));
  }

  Job& job(int id, std::int64_t time) {
    auto [it, added] = job_index_.try_emplace(id, log_.jobs.size());
    if (added) {
      Job& j = log_.jobs.emplace_back();
      j.id = id;
      j.start_time = time;
    }
    return log_.jobs[it->second];
  }

  Stage& stage(int job_id, int id, std::int64_t time) {
    Job& j = job(job_id, time);
    auto [it, added] = stage_index_.try_emplace({job_id, id}, j.stages.size());
    if (added) j.stages.emplace_back().id = id;
    return j.stages[it->second];
  }

  // An executor named by a task: "driver" in local modes has no executor_added, and "" means
  // the writer did not know where the task ran.
  void seen_running(const std::string& id) {
    if (!id.empty()) executor(id);
  }

  Executor& executor(const std::string& id) {
    auto it = std::find_if(log_.executors.begin(), log_.executors.end(),
                           [&](const Executor& e) { return e.id == id; });
    if (it != log_.executors.end()) return *it;
    Executor& e = log_.executors.emplace_back();
    e.id = id;
    return e;
  }

  EventLog log_;
  std::map<int, std::size_t> job_index_;
  std::map<std::pair<int, int>, std::size_t> stage_index_;
  // Starts minus ends per task attempt; what stays above 0 never ended.
  std::map<std::tuple<int, int, std::int64_t, int>, std::int64_t> running_;
};

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// ---- Printing ----------------------------------------------------------------------------------

// Rows of text cells printed in aligned columns, two spaces apart. The last column is not padded,
// so a long message there does not widen the others.
class Table {
 public:
  enum class Align { left, right };
  struct Column {
    std::string title;
    Align align = Align::left;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void row(std::vector<std::string> cells) {
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
  }
  bool empty() const noexcept { return rows_.empty(); }

  std::string render(std::string_view indent) const {
    std::vector<std::size_t> width(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      width[c] = columns_[c].title.size();
      for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
    }
    std::string out;
    auto line = [&](auto cell) {
      std::string l(indent);
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        const std::string& s = cell(c);
        bool last = c + 1 == columns_.size();
        if (c > 0) l += "  ";
        if (columns_[c].align == Align::right)
          l += fmt::format("{:>{}}", s, width[c]);
        else
          l += last ? s : fmt::format("{:<{}}", s, width[c]);
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + '\n';
    };
    line([&](std::size_t c) -> const std::string& { return columns_[c].title; });
    for (const auto& r : rows_) line([&](std::size_t c) -> const std::string& { return r[c]; });
    return out;
  }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

constexpr auto kLeft = Table::Align::left;
constexpr auto kRight = Table::Align::right;
constexpr std::size_t kNameWidth = 40;
constexpr std::size_t kQuoteWidth = 60;

std::string format_ms(double ms) {
  if (ms < 1000) return fmt::format("{:.0f} ms", ms);
  if (ms < 60'000) return fmt::format("{:.2f} s", ms / 1000);
  auto s = static_cast<std::int64_t>(std::llround(ms / 1000));
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, s / 60 % 60);
}

std::string format_bytes(std::int64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  std::size_t u = 0;
  for (v /= 1024; v >= 1024 && u + 1 < std::size(kUnits); v /= 1024) ++u;
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string format_share(double part, double whole) {
  if (whole <= 0) return "-";
  double pct = 100 * part / whole;
  if (pct > 0 && pct < 0.5) return "<1%";
  return fmt::format("{:.0f}%", pct);
}

std::string format_utc(std::int64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(epoch_ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string shorten(const std::string& s, std::size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 3) + "...";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A stretch of the driver's clock.
struct Span {
  std::int64_t begin = 0, end = 0;
};

// How long the spans cover together: stages running side by side count once.
std::int64_t covered(std::vector<Span> spans, Span within) {
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  std::int64_t total = 0, reach = within.begin;
  for (const Span& s : spans) {
    std::int64_t b = std::max(s.begin, reach), e = std::min(s.end, within.end);
    if (e > b) total += e - b;
    reach = std::max(reach, e);
  }
  return total;
}

// What the stage table and the time shares say about one stage of one job.
struct StageFacts {
  std::int64_t succeeded_partitions = 0;
  std::int64_t total_tasks = 0;
  int attempts = 0;
  std::int64_t duration_ms = 0;
  bool finished = true;
  std::vector<Span> spans;
  std::int64_t task_time_ms = 0;
  std::vector<double> succeeded_ms;
  // Summed over succeeded attempts: a partition computed twice did the work twice.
  std::int64_t records_in = 0, records_out = 0, shuffle_read = 0, shuffle_write = 0, spill = 0;
  // The last succeeded attempt of each partition.
  std::map<std::int64_t, const TaskEnd*> partitions;
};

StageFacts facts_of(const Stage& s, std::int64_t log_end) {
  StageFacts f;
  f.attempts = static_cast<int>(s.attempts.size());
  for (const StageAttempt& a : s.attempts) {
    if (a.completed_time) {
      f.duration_ms += a.duration_ms;
      f.spans.push_back({*a.completed_time - a.duration_ms, *a.completed_time});
    } else {
      f.finished = false;
      f.duration_ms += log_end - a.submitted_time;
      f.spans.push_back({a.submitted_time, log_end});
    }
  }
  for (const TaskEnd& t : s.tasks) {
    f.task_time_ms += t.duration_ms;
    if (!t.succeeded()) continue;
    f.succeeded_ms.push_back(static_cast<double>(t.duration_ms));
    f.records_in += t.records_in;
    f.records_out += t.records_out;
    f.shuffle_read += t.shuffle_read_bytes;
    f.shuffle_write += t.shuffle_write_bytes;
    f.spill += t.spill_bytes;
    f.partitions[t.partition] = &t;
  }
  f.succeeded_partitions = static_cast<std::int64_t>(f.partitions.size());
  f.total_tasks = s.attempts.empty() ? 0 : s.attempts.front().tasks;
  f.total_tasks = std::max(f.total_tasks, f.succeeded_partitions);
  return f;
}

std::int64_t job_duration(const Job& j, std::int64_t log_end) {
  return j.end_time ? j.duration_ms : log_end - j.start_time;
}

Span job_span(const Job& j, std::int64_t log_end) {
  return j.end_time ? Span{*j.end_time - j.duration_ms, *j.end_time} : Span{j.start_time, log_end};
}

class SummaryWriter {
 public:
  SummaryWriter(const EventLog& log, const SummaryOptions& options)
      : log_(log), options_(options) {}

  std::string run() {
    header();
    for (const Job& j : log_.jobs)
      if (!options_.job || *options_.job == j.id) job(j);
    lost_executors();
    return std::move(out_);
  }

 private:
  std::string since_start(std::int64_t time) const {
    return format_ms(static_cast<double>(time - log_.start_time));
  }

  void header() {
    out_ += fmt::format("event log {} (version {})\n", log_.name, log_.version);
    Table t({{"", kLeft}, {"", kLeft}});
    t.row({"app", log_.app});
    t.row({"master", log_.master});
    t.row(
        {"driver", fmt::format("pid {} on {}, spate {}", log_.pid, log_.host, log_.spate_version)});
    t.row({"started", format_utc(log_.start_time)});
    double to_last = static_cast<double>(log_.last_time - log_.start_time);
    t.row({"duration", log_.duration_ms ? format_ms(static_cast<double>(*log_.duration_ms))
                                        : fmt::format("at least {} (no log_end: the program was "
                                                      "killed or is still running)",
                                                      format_ms(to_last))});
    std::size_t lost = 0;
    std::string ids;
    for (const Executor& e : log_.executors) {
      lost += e.lost_time.has_value();
      ids += (ids.empty() ? "" : ", ") + e.id;
    }
    t.row({"executors", fmt::format("{} seen, {} lost{}{}", log_.executors.size(), lost,
                                    ids.empty() ? "" : ": ", ids)});
    std::size_t succeeded = 0, failed = 0;
    for (const Job& j : log_.jobs) {
      if (!j.end_time) continue;
      ++(j.succeeded ? succeeded : failed);
    }
    t.row({"jobs", fmt::format("{} ({} succeeded, {} failed, {} unfinished)", log_.jobs.size(),
                               succeeded, failed, log_.jobs.size() - succeeded - failed)});
    std::string text = t.render("");
    // The header's columns have no titles: drop the empty title line.
    out_ += text.substr(text.find('\n') + 1);
    for (const std::string& note : log_.notes) out_ += "note: " + note + '\n';
  }

  void job(const Job& j) {
    std::int64_t duration = job_duration(j, log_.last_time);
    out_ += fmt::format("\njob {}: {}\n", j.id,
                        j.description.empty() ? "(no description)" : j.description);
    if (!j.end_time)
      out_ += "  result      unfinished (the log ends before job_end)\n";
    else if (j.succeeded)
      out_ += "  result      succeeded\n";
    else
      out_ += fmt::format("  result      failed: {}\n", j.error);
    out_ += fmt::format("  duration    {} (from {} into the run)\n",
                        format_ms(static_cast<double>(duration)), since_start(j.start_time));
    out_ += fmt::format("  partitions  {}\n", j.partitions);

    std::vector<StageFacts> facts;
    for (const Stage& s : j.stages) facts.push_back(facts_of(s, log_.last_time));
    stages(j, facts);
    slowest_tasks(j);
    skew(j, facts);
    retries(j);
    where_the_time_went(j, facts, duration);
  }

  void stages(const Job& j, const std::vector<StageFacts>& facts) {
    out_ += "\n  stages\n";
    Table t({{"stage", kRight},
             {"kind", kLeft},
             {"name", kLeft},
             {"tasks", kRight},
             {"attempts", kRight},
             {"duration", kRight},
             {"task time", kRight},
             {"median task", kRight},
             {"max task", kRight},
             {"records in", kRight},
             {"records out", kRight},
             {"shuffle read", kRight},
             {"shuffle write", kRight},
             {"spill", kRight}});
    for (std::size_t i = 0; i < j.stages.size(); ++i) {
      const Stage& s = j.stages[i];
      const StageFacts& f = facts[i];
      bool any = !f.succeeded_ms.empty();
      t.row({std::to_string(s.id), s.kind.empty() ? "?" : s.kind, shorten(s.name, kNameWidth),
             fmt::format("{}/{}", f.succeeded_partitions, f.total_tasks),
             std::to_string(f.attempts),
             f.finished ? format_ms(static_cast<double>(f.duration_ms)) : "unfinished",
             format_ms(static_cast<double>(f.task_time_ms)),
             any ? format_ms(median(f.succeeded_ms)) : "-",
             any ? format_ms(*std::max_element(f.succeeded_ms.begin(), f.succeeded_ms.end())) : "-",
             std::to_string(f.records_in), std::to_string(f.records_out),
             format_bytes(f.shuffle_read), format_bytes(f.shuffle_write), format_bytes(f.spill)});
    }
    out_ += t.empty() ? "    none\n" : t.render("    ");
    for (const Stage& s : j.stages)
      if (s.unfinished_tasks > 0)
        out_ += fmt::format("    stage {}: {} task attempt{} started and never ended\n", s.id,
                            s.unfinished_tasks, s.unfinished_tasks == 1 ? "" : "s");
  }

  void slowest_tasks(const Job& j) {
    std::vector<const TaskEnd*> all;
    for (const Stage& s : j.stages)
      for (const TaskEnd& t : s.tasks) all.push_back(&t);
    std::stable_sort(all.begin(), all.end(), [](const TaskEnd* a, const TaskEnd* b) {
      return std::tie(b->duration_ms, a->stage, a->partition, a->attempt, a->time) <
             std::tie(a->duration_ms, b->stage, b->partition, b->attempt, b->time);
    });
    if (all.size() > options_.top) all.resize(options_.top);
    out_ += "\n  slowest tasks\n";
    Table t({{"stage", kRight},
             {"partition", kRight},
             {"attempt", kRight},
             {"executor", kLeft},
             {"duration", kRight},
             {"records in", kRight},
             {"outcome", kLeft}});
    for (const TaskEnd* e : all)
      t.row({std::to_string(e->stage), std::to_string(e->partition), std::to_string(e->attempt),
             e->executor, format_ms(static_cast<double>(e->duration_ms)),
             std::to_string(e->records_in), e->outcome});
    out_ += t.empty() ? "    none\n" : t.render("    ");
  }

  // Records say more than time about an uneven partitioner; time stands in for stages that count
  // no records.
  void skew(const Job& j, const std::vector<StageFacts>& facts) {
    out_ += "\n  skew (largest partition against the median)\n";
    Table t({{"stage", kRight},
             {"by", kLeft},
             {"partition", kRight},
             {"largest", kRight},
             {"median", kRight},
             {"ratio", kRight},
             {"", kLeft}});
    for (std::size_t i = 0; i < j.stages.size(); ++i) {
      const StageFacts& f = facts[i];
      if (f.partitions.size() < 2) continue;
      bool by_records = std::any_of(f.partitions.begin(), f.partitions.end(),
                                    [](const auto& p) { return p.second->records_in > 0; });
      auto size = [&](const TaskEnd* e) {
        return static_cast<double>(by_records ? e->records_in : e->duration_ms);
      };
      std::vector<double> sizes;
      const TaskEnd* largest = nullptr;
      for (const auto& [partition, e] : f.partitions) {
        sizes.push_back(size(e));
        if (largest == nullptr || size(e) > size(largest)) largest = e;
      }
      double mid = median(sizes), top = size(largest);
      bool skewed = mid > 0 ? top / mid >= kSkewRatio : top > 0;
      auto show = [&](double v) { return by_records ? fmt::format("{:.0f}", v) : format_ms(v); };
      t.row({std::to_string(j.stages[i].id), by_records ? "records" : "time",
             std::to_string(largest->partition), show(top), show(mid),
             mid > 0 ? fmt::format("{:.1f}x", top / mid) : "-", skewed ? "skewed" : ""});
    }
    out_ += t.empty() ? "    no stage with 2 or more tasks\n" : t.render("    ");
  }

  void retries(const Job& j) {
    out_ += "\n  retries\n";
    Table t({{"at", kRight},
             {"stage", kRight},
             {"partition", kRight},
             {"attempt", kRight},
             {"executor", kLeft},
             {"outcome", kLeft},
             {"after", kRight},
             {"message", kLeft}});
    std::vector<const TaskEnd*> failed;
    for (const Stage& s : j.stages)
      for (const TaskEnd& e : s.tasks)
        if (!e.succeeded()) failed.push_back(&e);
    std::stable_sort(failed.begin(), failed.end(),
                     [](const TaskEnd* a, const TaskEnd* b) { return a->time < b->time; });
    for (const TaskEnd* e : failed)
      t.row({since_start(e->time), std::to_string(e->stage), std::to_string(e->partition),
             std::to_string(e->attempt), e->executor, e->outcome,
             format_ms(static_cast<double>(e->duration_ms)), e->message});
    std::string stage_lines;
    for (const Stage& s : j.stages) {
      for (const StageAttempt& a : s.attempts) {
        if (a.attempt > 1)
          stage_lines += fmt::format(
              "    stage {} submitted again (attempt {}) at {} for {} of {} partitions\n", s.id,
              a.attempt, since_start(a.submitted_time), a.tasks, s.partitions);
        if (a.completed_time && !a.succeeded)
          stage_lines += fmt::format("    stage {} attempt {} failed at {}: {}\n", s.id, a.attempt,
                                     since_start(*a.completed_time), a.message);
      }
    }
    if (t.empty() && stage_lines.empty()) out_ += "    none\n";
    if (!t.empty()) out_ += t.render("    ");
    out_ += stage_lines;
  }

  void where_the_time_went(const Job& j, const std::vector<StageFacts>& facts,
                           std::int64_t duration) {
    auto whole = static_cast<double>(duration);
    out_ += fmt::format("\n  where the time went (job wall time {})\n", format_ms(whole));
    Table t({{"", kLeft}, {"time", kRight}, {"share", kRight}});
    std::vector<Span> spans;
    for (std::size_t i = 0; i < j.stages.size(); ++i) {
      const Stage& s = j.stages[i];
      auto d = static_cast<double>(facts[i].duration_ms);
      t.row({fmt::format("stage {} ({})", s.id, s.kind.empty() ? "?" : s.kind), format_ms(d),
             format_share(d, whole)});
      spans.insert(spans.end(), facts[i].spans.begin(), facts[i].spans.end());
    }
    auto outside = static_cast<double>(
        std::max<std::int64_t>(0, duration - covered(spans, job_span(j, log_.last_time))));
    t.row({"in no stage (scheduling, results)", format_ms(outside), format_share(outside, whole)});
    out_ += t.render("    ");

    // Time is summed over every attempt, failed ones too: that is what the executor spent.
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_executor;
    std::int64_t total = 0;
    for (const Stage& s : j.stages) {
      for (const TaskEnd& e : s.tasks) {
        auto& [time, count] = by_executor[e.executor];
        time += e.duration_ms;
        ++count;
        total += e.duration_ms;
      }
    }
    std::vector<std::pair<std::string, std::pair<std::int64_t, std::int64_t>>> rows(
        by_executor.begin(), by_executor.end());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    out_ += "\n  task time by executor\n";
    Table e({{"executor", kLeft}, {"task time", kRight}, {"share", kRight}, {"tasks", kRight}});
    for (const auto& [id, tc] : rows)
      e.row({id.empty() ? "(unknown)" : id, format_ms(static_cast<double>(tc.first)),
             format_share(static_cast<double>(tc.first), static_cast<double>(total)),
             std::to_string(tc.second)});
    out_ += e.empty() ? "    none\n" : e.render("    ");
  }

  void lost_executors() {
    out_ += "\nlost executors\n";
    Table t({{"executor", kLeft},
             {"added at", kRight},
             {"lost at", kRight},
             {"tasks lost", kRight},
             {"reason", kLeft}});
    for (const Executor& e : log_.executors) {
      if (!e.lost_time) continue;
      std::int64_t lost_tasks = 0;
      for (const Job& j : log_.jobs)
        for (const Stage& s : j.stages)
          for (const TaskEnd& x : s.tasks) lost_tasks += x.executor == e.id && x.outcome == "lost";
      t.row({e.id, e.added_time ? since_start(*e.added_time) : "-", since_start(*e.lost_time),
             std::to_string(lost_tasks), e.lost_reason});
    }
    out_ += t.empty() ? "  none\n" : t.render("  ");
  }

  const EventLog& log_;
  const SummaryOptions& options_;
  std::string out_;
};

}  // namespace

const Job* EventLog::job(int id) const {
  for (const Job& j : jobs)
    if (j.id == id) return &j;
  return nullptr;
}

EventLog read_event_log(std::istream& in, const std::string& name) {
  LogBuilder builder(name);
  std::string line;
  std::int64_t number = 0;
  bool started = false;
  while (std::getline(in, line)) {
    ++number;
    // getline stops at the end of the stream without a newline only on the last line.
    bool ended_by_newline = !in.eof();
    if (blank(line)) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec && !ended_by_newline) {
      // The writer ends every line with a newline, so this one was cut short mid-write.
      builder.log().notes.push_back(
          fmt::format("line {} is incomplete (the program was probably killed while "
                      "writing it) and was skipped",
                      number));
      break;
    }
    auto fail = [&](const std::string& what) {
      throw input_error(fmt::format("{}:{}: {}", name, number, what));
    };
    if (ec) fail(fmt::format("not JSON ({}): {}", ec.message(), shorten(line, kQuoteWidth)));
    if (!v.is_object())
      fail(fmt::format("not a JSON object but {}", std::string_view(json::to_string(v.kind()))));
    const json::object& o = v.get_object();
    const json::value* event = o.if_contains("event");
    if (event == nullptr) fail("no \"event\" member");
    if (!event->is_string()) fail("\"event\" is not a string");
    std::string kind(event->get_string());
    Fields fields(o, name, number, kind);
    if (!started) {
      if (kind != "log_start")
        fail(fmt::format("the first event is {}, not log_start: is this a spate event log?", kind));
      started = true;
      std::int64_t version = fields.integer("version");
      if (version != kLogVersion)
        fail(fmt::format("unsupported event log version {} (this spate-history reads version {})",
                         version, kLogVersion));
      EventLog& log = builder.log();
      log.version = static_cast<int>(version);
      log.start_time = fields.integer("time");
      log.last_time = log.start_time;
      log.app = fields.text_or("app");
      log.master = fields.text_or("master");
      log.host = fields.text_or("host");
      log.spate_version = fields.text_or("spate_version");
      log.pid = fields.integer_or("pid", 0);
      continue;
    }
    builder.add(kind, fields);
  }
  if (in.bad()) throw io_error(fmt::format("{}: read failed after line {}", name, number));
  if (!started)
    throw input_error(fmt::format("{}: no log_start line: empty, or not a spate event log", name));
  return builder.finish();
}

EventLog read_event_log_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  return read_event_log(in, path.string());
}

std::filesystem::path pick_event_log(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec))
      throw io_error(fmt::format("{}: no such file or directory", path.string()));
    return path;
  }
  std::optional<fs::path> best;
  fs::file_time_type best_time;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    std::string file = entry.path().filename().string();
    if (!file.starts_with("spate-events-") || !file.ends_with(".jsonl") || !entry.is_regular_file())
      continue;
    fs::file_time_type t = entry.last_write_time();
    if (!best || t > best_time || (t == best_time && entry.path() > *best)) {
      best = entry.path();
      best_time = t;
    }
  }
  if (ec) throw io_error(fmt::format("cannot list {}: {}", path.string(), ec.message()));
  if (!best) throw io_error(fmt::format("{} holds no spate-events-*.jsonl", path.string()));
  return *best;
}

std::string render_summary(const EventLog& log, const SummaryOptions& options) {
  if (options.job && log.job(*options.job) == nullptr) {
    std::string ids;
    for (const Job& j : log.jobs) ids += (ids.empty() ? "" : ", ") + std::to_string(j.id);
    throw config_error(fmt::format("--job {}: {} has no such job (its jobs: {})", *options.job,
                                   log.name, ids.empty() ? "none" : ids));
  }
  return SummaryWriter(log, options).run();
}

}  // namespace spate::history
