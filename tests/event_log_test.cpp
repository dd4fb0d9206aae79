// The event log (docs/event-log.md): written by a real program run as a user runs it, read back
// line by line, and held against the figures the engine itself reports (--metrics).
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <spate/clicklog_generator.hpp>

#include "events/live_status.hpp"
#include "events/progress_line.hpp"
#include "test_support.hpp"
#include "test_paths.hpp"

using namespace spate_test;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::vector<json::object> read_log(const fs::path& path) {
  std::ifstream in(path);
  std::vector<json::object> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    INFO(path.string() << ":" << n << ": " << line);
    REQUIRE(!ec);
    REQUIRE(v.is_object());
    REQUIRE(v.as_object().contains("event"));
    REQUIRE(v.as_object().at("time").is_int64());
    out.push_back(v.as_object());
  }
  return out;
}

fs::path only_log_in(const fs::path& dir) {
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("spate-events-")) logs.push_back(e.path());
  REQUIRE(logs.size() == 1);
  return logs.front();
}

std::string kind(const json::object& o) { return std::string(o.at("event").as_string()); }
std::int64_t num(const json::object& o, const char* k) { return o.at(k).to_number<std::int64_t>(); }

// "spate metrics: a=1 b=2" from the program's stderr, as a map.
std::map<std::string, std::int64_t> metrics_line(const std::string& err) {
  std::map<std::string, std::int64_t> out;
  auto at = err.find("spate metrics:");
  REQUIRE(at != std::string::npos);
  std::istringstream words(err.substr(at + 14, err.find('\n', at) - at - 14));
  std::string w;
  while (words >> w) {
    auto eq = w.find('=');
    out[w.substr(0, eq)] = std::stoll(w.substr(eq + 1));
  }
  return out;
}

int run(const std::string& cmd) {
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("the event log of a click-log job parses line by line and agrees with the job's own figures",
          "[events]") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  TempDir dir;
  spate::ClickGenOptions gen;
  gen.rows = 20'000;
  gen.seed = 7;
  gen.bad_rate = 0.01;
  gen.out = dir.file("clicks.tsv");
  auto summary = spate::generate_clicks(gen);
  fs::path logs = dir.file("events");
  std::string err = dir.file("stderr.txt");
  int code = run(fmt::format("'{}/spate-clicks' uniques --input '{}' --out '{}' --master '{}' --event-log '{}' "
                             "--metrics --no-ui 2> '{}'",
                             spate_test::bin_dir(), gen.out, dir.file("out.tsv"), master, logs.string(), err));
  std::string stderr_text = read_file(err);
  INFO(stderr_text);
  REQUIRE(code == 0);
  auto events = read_log(only_log_in(logs));
  auto metrics = metrics_line(stderr_text);

  REQUIRE(events.size() > 4);
  CHECK(kind(events.front()) == "log_start");
  CHECK(num(events.front(), "version") == 1);
  CHECK(events.front().at("master").as_string() == master);
  CHECK(kind(events.back()) == "log_end");

  std::map<std::string, int> count;
  for (const auto& e : events) count[kind(e)]++;
  CHECK(count["job_start"] == count["job_end"]);
  CHECK(count["job_start"] >= 1);
  CHECK(count["task_start"] == count["task_end"]);
  CHECK(count["stage_submitted"] == count["stage_completed"]);
  CHECK(count["executor_added"] == (master == "local[2]" ? 0 : 2));
  CHECK(count["executor_lost"] == 0);

  // Every stage submission ran exactly its tasks, each partition once, and succeeded.
  std::map<std::pair<std::int64_t, std::int64_t>, std::set<std::int64_t>> done;  // (job, stage) -> partitions
  std::map<std::string, std::int64_t> summed;
  std::map<std::int64_t, std::int64_t> stage_read, stage_written;  // shuffle records by stage
  std::int64_t succeeded = 0, shuffle_written = 0, input_records = 0;
  for (const auto& e : events) {
    if (kind(e) == "job_end") CHECK(e.at("succeeded").as_bool());
    if (kind(e) != "task_end") continue;
    CHECK(e.at("outcome").as_string() == "succeeded");
    CHECK(num(e, "duration_ms") >= 0);
    CHECK((master == "local[2]" ? e.at("executor").as_string() == "driver" : e.at("executor").as_string() != ""));
    CHECK(done[{num(e, "job"), num(e, "stage")}].insert(num(e, "partition")).second);
    ++succeeded;
    for (const auto& [name, v] : e.at("counters").as_object()) summed[std::string(name)] += v.to_number<std::int64_t>();
    shuffle_written += num(e, "shuffle_write_records");
    stage_written[num(e, "stage")] += num(e, "shuffle_write_records");
    stage_read[num(e, "stage")] += num(e, "shuffle_read_records");
    input_records += num(e, "input_records");
    CHECK(num(e, "records_in") == num(e, "input_records") + num(e, "shuffle_read_records"));
  }
  for (const auto& e : events) {
    if (kind(e) != "stage_submitted") continue;
    CHECK(done[{num(e, "job"), num(e, "stage")}].size() == static_cast<std::size_t>(num(e, "tasks")));
    // A stage reads exactly what its parent stages wrote (each ran once: nothing was lost).
    std::int64_t parents_wrote = 0;
    for (const auto& p : e.at("parents").as_array()) parents_wrote += stage_written[p.to_number<std::int64_t>()];
    CHECK(stage_read[num(e, "stage")] == parents_wrote);
  }

  // The job's real figures: every line of the file was read once (header and bad lines too),
  // every shuffled record was read once, and the engine's own totals match the log's.
  CHECK(input_records == 1 + summary.rows + summary.malformed_lines);
  CHECK(shuffle_written > 0);
  CHECK(succeeded == metrics.at("tasks.succeeded"));
  for (const auto& [name, total] : summed) {
    INFO(name);
    CHECK(metrics.at(name) == total);
  }
  std::int64_t malformed = 0;
  for (const auto& [name, total] : summed)
    if (name.ends_with("/malformed_lines")) malformed += total;
  CHECK(malformed == summary.malformed_lines);
}

TEST_CASE("the event log records a failed task's message and the job's error", "[events]") {
  TempDir dir;
  {
    spate::Options o;
    o.master = "local[2]";
    o.task_attempts = 2;
    o.ui = false;
    o.event_log_dir = dir.file("events");
    spate::Context ctx(o);
    auto ds = ctx.parallelize(std::vector<int>{1, 2, 3, 4}, 2).map([](int x) {
      if (x == 3) throw std::runtime_error("three is not welcome");
      return x;
    });
    CHECK_THROWS(ds.collect());
  }
  auto events = read_log(only_log_in(dir.file("events")));
  int failed_tasks = 0;
  bool job_failed = false;
  for (const auto& e : events) {
    if (kind(e) == "task_end" && e.at("outcome").as_string() == "failed") {
      ++failed_tasks;
      CHECK(std::string(e.at("message").as_string()).find("three is not welcome") != std::string::npos);
      CHECK(num(e, "partition") == 1);
    }
    if (kind(e) == "job_end") {
      job_failed = !e.at("succeeded").as_bool();
      CHECK(std::string(e.at("error").as_string()).find("three is not welcome") != std::string::npos);
    }
  }
  CHECK(failed_tasks == 2);  // both attempts
  CHECK(job_failed);
  CHECK(kind(events.back()) == "log_end");
}

TEST_CASE("an event log directory that cannot be created is a configuration error naming the flag",
          "[events]") {
  TempDir dir;
  write_file(dir.file("plain-file"), "x");
  spate::Options o;
  o.master = "local[1]";
  o.ui = false;
  o.event_log_dir = dir.file("plain-file") + "/events";
  CHECK_THROWS_WITH(spate::Context(o), Catch::Contains("--event-log") && Catch::Contains("plain-file"));
}

TEST_CASE("two Contexts of one program in the same second write two event logs", "[events]") {
  TempDir dir;
  spate::Options o;
  o.master = "local[1]";
  o.ui = false;
  o.event_log_dir = dir.file("events");
  {
    spate::Context a(o);
    spate::Context b(o);
    CHECK(a.event_log_path() != b.event_log_path());
    CHECK(a.parallelize(std::vector<int>{1, 2}, 1).count() == 2);
    CHECK(b.parallelize(std::vector<int>{1, 2, 3}, 1).count() == 3);
  }
  int logs = 0;
  for (const auto& e : fs::directory_iterator(dir.file("events"))) {
    ++logs;
    CHECK(kind(read_log(e.path()).back()) == "log_end");
  }
  CHECK(logs == 2);
}

TEST_CASE("the progress line shows the running stage, counts, rate, retries and lost executors", "[events]") {
  using spate::detail::format_progress;
  spate::detail::ProgressSnapshot p;
  CHECK(format_progress(p, 5000, 200).empty());  // no job running
  p.running_jobs = 1;
  p.since = 1000;
  CHECK(format_progress(p, 1500, 200).empty());  // not yet a second old
  p.stage = 3;
  p.stage_name = "reduce_by_key <- map";
  p.tasks = 32;
  p.done = 12;
  p.running = 2;
  p.records_in = 2'500'000;
  p.bytes_in = 200'000'000;
  p.retries = 1;
  p.executors_lost = 1;
  std::string line = format_progress(p, 5000, 200);
  CHECK(line.find("stage 3: 12/32 tasks, 2 running") != std::string::npos);
  CHECK(line.find("2.5M records") != std::string::npos);
  CHECK(line.find("200 MB in") != std::string::npos);
  CHECK(line.find("50 MB/s") != std::string::npos);
  CHECK(line.find("4.0 s") != std::string::npos);
  CHECK(line.find("1 retry") != std::string::npos);
  CHECK(line.find("1 executor lost") != std::string::npos);
  CHECK(format_progress(p, 5000, 40).size() < 40);  // never wraps a narrow terminal
}

TEST_CASE("the live status follows a job's stages and tasks as its /api/ bodies show them", "[events]") {
  using namespace spate::detail;
  LiveStatus s("app-1", "local[2]", LiveStatus::Driver{2, 1000, [] { return std::uint64_t{10}; }}, nullptr);
  s.on_job_started({1, "collect <- reduce_by_key", 2, 100});
  s.on_stage_submitted({1, 0, 0, "shuffle 0 <- map", 2, 2, {}, 1, 110});
  s.on_task_started({1, 0, 0, 1, "driver", 111});
  s.on_task_started({1, 0, 1, 1, "driver", 112});
  TaskEnded ok;
  ok.attempt = TaskAttempt{1, 0, 0, 0, 1, "driver", TaskAttempt::Outcome::succeeded, ""};
  ok.time = 150;
  ok.duration_ms = 39;
  ok.counters = {{"input.records", 5}, {"shuffle.write.records", 3}, {"shuffle.write.bytes", 30}};
  s.on_task_ended(ok);
  auto stages = json::parse(*s.api("/api/stages")).as_array();
  REQUIRE(stages.size() == 1);
  CHECK(stages[0].at("status").as_string() == "running");
  CHECK(stages[0].at("done").as_int64() == 1);
  CHECK(stages[0].at("running").as_int64() == 1);
  CHECK(stages[0].at("records_in").as_int64() == 5);
  CHECK(stages[0].at("shuffle_write_bytes").as_int64() == 30);
  auto progress = s.progress();
  CHECK(progress.running_jobs == 1);
  CHECK(progress.stage == 0);
  CHECK(progress.done == 1);

  TaskEnded lost = ok;
  lost.attempt.partition = 1;
  lost.attempt.outcome = TaskAttempt::Outcome::failed;
  lost.attempt.message = "boom";
  lost.counters = {};
  s.on_task_ended(lost);
  auto tasks = json::parse(*s.api("/api/stages/0/tasks")).as_array();
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[1].at("status").as_string() == "failed");
  CHECK(tasks[1].at("message").as_string() == "boom");
  s.on_stage_completed({1, 0, 1, 200, 90, false, "boom"});
  s.on_job_ended({1, 210, 110, false, "boom"});
  auto jobs = json::parse(*s.api("/api/jobs")).as_array();
  CHECK(jobs[0].at("status").as_string() == "failed");
  CHECK(jobs[0].at("error").as_string() == "boom");
  CHECK(jobs[0].at("stages").as_array().size() == 1);
  auto executors = json::parse(*s.api("/api/executors")).as_array();
  REQUIRE(executors.size() == 1);
  CHECK(executors[0].at("executor").as_string() == "driver");
  CHECK(executors[0].at("memory_budget").as_int64() == 1000);
  CHECK(executors[0].at("tasks_done").as_int64() == 1);
  CHECK(json::parse(*s.api("/api/app")).at("running_jobs").as_int64() == 0);
  CHECK_FALSE(s.api("/api/stages/7/tasks"));
  CHECK_FALSE(s.api("/api/nothing"));
}

TEST_CASE("spate-history summarises the event log of a real run, stage by stage", "[events][history]") {
  TempDir dir;
  spate::ClickGenOptions gen;
  gen.rows = 5'000;
  gen.seed = 3;
  gen.out = dir.file("clicks.tsv");
  spate::generate_clicks(gen);
  fs::path logs = dir.file("events");
  REQUIRE(run(fmt::format("'{}/spate-clicks' sessions --input '{}' --out '{}' --master 'local-cluster[2]' "
                          "--event-log '{}' --no-ui 2> /dev/null",
                          spate_test::bin_dir(), gen.out, dir.file("out.tsv"), logs.string())) == 0);
  std::string summary_path = dir.file("summary.txt");
  REQUIRE(run(fmt::format("'{}/spate-history' '{}' > '{}'", spate_test::bin_dir(), logs.string(), summary_path)) == 0);
  std::string summary = read_file(summary_path);
  INFO(summary);
  CHECK_THAT(summary, Catch::Contains("master     local-cluster[2]"));
  CHECK_THAT(summary, Catch::Contains("executors  2 seen, 0 lost"));
  // Every stage the log submitted has its row: id, kind, and the start of its name.
  int stages = 0;
  for (const auto& e : read_log(only_log_in(logs))) {
    if (kind(e) != "stage_submitted") continue;
    ++stages;
    std::string name(e.at("name").as_string());
    std::regex row(fmt::format(R"(\n\s+{}\s+{}\s+{})", num(e, "stage"), std::string(e.at("kind").as_string()),
                               std::regex_replace(name.substr(0, 12), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)")));
    CHECK(std::regex_search(summary, row));
  }
  CHECK(stages >= 2);
}

// Run by the test below in a child process whose stderr is a terminal (a pseudo-terminal).
TEST_CASE("a job that runs for over a second with stderr on a terminal", "[.progress-child]") {
  spate::Options o;
  o.master = "local[2]";
  o.ui = false;
  spate::Context ctx(o);
  auto n = ctx.parallelize(std::vector<int>(8, 1), 8)
               .map([](int x) {
                 std::this_thread::sleep_for(std::chrono::milliseconds(400));
                 return x;
               })
               .count();
  CHECK(n == 8);
}

TEST_CASE("the progress line is drawn on a terminal and never in a log", "[events]") {
  // On a pseudo-terminal: the child's stderr shows the line, redrawn in place, then cleared.
  int master_fd = -1;
  pid_t pid = ::forkpty(&master_fd, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string exe = spate_test::bin_dir() + "/spate_tests";
    ::execl(exe.c_str(), exe.c_str(), "a job that runs for over a second with stderr on a terminal", nullptr);
    ::_exit(127);
  }
  std::string seen;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master_fd, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has closed the terminal
    seen.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(master_fd);
  INFO(seen);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(seen, Catch::Contains("\r\x1b[K[stage 0: "));
  CHECK_THAT(seen, Catch::Contains("/8 tasks"));
  CHECK_THAT(seen, Catch::Contains(" records, 0 B in, "));

  // Into a file: not a byte of it.
  TempDir dir;
  std::string err = dir.file("stderr.txt");
  REQUIRE(run(fmt::format("'{}/spate_tests' 'a job that runs for over a second with stderr on a terminal' > /dev/null 2> '{}'",
                          spate_test::bin_dir(), err)) == 0);
  CHECK(read_file(err).find('\r') == std::string::npos);
}

TEST_CASE("the live status shows a job's whole DAG from its start, and stages it never ran as skipped",
          "[events]") {
  using namespace spate::detail;
  LiveStatus s("app-2", "local[2]", LiveStatus::Driver{2, 1000, nullptr}, nullptr);
  JobStarted job{1, "collect", 4, 100, {{0, 0, "shuffle 0 <- map", 4, {}}, {1, -1, "reduce_by_key", 4, {0}}}};
  s.on_job_started(job);
  auto stages = json::parse(*s.api("/api/stages?job=1")).as_array();
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].at("status").as_string() == "pending");
  CHECK(stages[1].at("parents").as_array().size() == 1);
  // Stage 0's shuffle existed already: only the result stage runs.
  s.on_stage_submitted({1, 1, -1, "reduce_by_key", 4, 4, {0}, 1, 110});
  s.on_stage_completed({1, 1, 1, 120, 10, true, ""});
  s.on_job_ended({1, 130, 30, true, ""});
  stages = json::parse(*s.api("/api/stages?job=1")).as_array();
  CHECK(stages[0].at("status").as_string() == "skipped");
  CHECK(stages[1].at("status").as_string() == "succeeded");
}
