// Tests of spate-history: the event log reader (format errors named by file and line, a cut-short
// last line, unknown events), the summary of tests/data/event-log-v1.jsonl and the program itself.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "history/history_summary.hpp"
#include "process_support.hpp"
#include "spate/error.hpp"
#include "test_paths.hpp"

namespace {

namespace fs = std::filesystem;
using spate::history::EventLog;
using spate::history::read_event_log;
using spate::history::render_summary;

// Hand-written to docs/event-log.md: two jobs on local-cluster[2]; job 1's map task 2 throws once
// and is retried, its result stage reads 900 records in partition 3 against about 100 elsewhere;
// in job 2 executor-1 is lost mid-stage and executor-2 replaces it.
const fs::path kFixture = fs::path(spate_test::source_dir()) / "tests" / "data" / "event-log-v1.jsonl";

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

EventLog read_text(const std::string& text, const std::string& name = "test.jsonl") {
  std::istringstream in(text);
  return read_event_log(in, name);
}

std::string fixture_summary(spate::history::SummaryOptions options = {}) {
  return render_summary(spate::history::read_event_log_file(kFixture), options);
}

// A section's lines in job `job`'s part of a summary: its column titles, then one line per row.
std::vector<std::string> section(const std::string& summary, int job, const std::string& title) {
  std::istringstream in(summary);
  std::string line;
  bool in_job = false, in_section = false;
  std::vector<std::string> out;
  while (std::getline(in, line)) {
    if (line.starts_with("job "))
      in_job = line.starts_with("job " + std::to_string(job) + ":");
    else if (in_job && line.starts_with("  " + title))
      in_section = true;
    else if (in_section && line.empty())
      break;
    else if (in_section)
      out.push_back(line);
  }
  return out;
}

// A table line's cells: columns are two or more spaces apart, and no cell holds two spaces.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  static const std::regex gap(" {2,}");
  std::string trimmed = line.substr(line.find_first_not_of(' '));
  for (std::sregex_token_iterator it(trimmed.begin(), trimmed.end(), gap, -1), end; it != end; ++it)
    out.push_back(*it);
  return out;
}

// The row of a section whose first cell is `first`.
std::vector<std::string> row(const std::string& summary, int job, const std::string& title,
                             const std::string& first) {
  for (const auto& line : section(summary, job, title)) {
    auto c = cells(line);
    if (!c.empty() && c[0] == first) return c;
  }
  FAIL("no row " << first << " in " << title << " of job " << job << ":\n" << summary);
  return {};
}

// Each line of the lost executors section split into cells, the column titles first.
std::vector<std::vector<std::string>> lost_executor_rows(const std::string& summary) {
  std::vector<std::vector<std::string>> out;
  auto at = summary.find("\nlost executors\n");
  if (at == std::string::npos) return out;
  std::istringstream rest(summary.substr(at + 16));
  for (std::string line; std::getline(rest, line) && !line.empty();) out.push_back(cells(line));
  return out;
}

std::string error_of(const std::string& text) {
  try {
    read_text(text);
  } catch (const spate::input_error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kStart =
    R"({"event":"log_start","time":1000,"version":1,"app":"t","master":"local[2]","pid":7,"host":"h","spate_version":"0.1.0"})"
    "\n";

using Run = spate_test::CommandRun;

// Runs the spate-history program built next to this test binary.
Run run_history(const std::string& args) {
  return spate_test::run_captured(spate_test::bin_dir() + "/spate-history " + args);
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("spate-history-dir-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("the fixture reads into its jobs, stages, tasks and executors", "[history]") {
  EventLog log = spate::history::read_event_log_file(kFixture);
  CHECK(log.version == 1);
  CHECK(log.master == "local-cluster[2]");
  CHECK(log.duration_ms == 3300);
  CHECK(log.notes.empty());
  REQUIRE(log.jobs.size() == 2);
  const auto& job1 = log.jobs[0];
  CHECK(job1.description == "collect <- reduce_by_key");
  CHECK(job1.succeeded);
  REQUIRE(job1.stages.size() == 2);
  CHECK(job1.stages[0].kind == "map");
  CHECK(job1.stages[0].tasks.size() == 5);  // four partitions, one of them twice
  CHECK(job1.stages[1].parents == std::vector<int>{0});
  REQUIRE(log.executors.size() == 3);
  CHECK(log.executors[1].lost_reason == "connection closed");
}

TEST_CASE("the summary of the fixture lists each stage with its task counts and durations",
          "[history]") {
  std::string s = fixture_summary();
  // stage, kind, name, tasks, attempts, duration, task time, median, max, records in/out, shuffle
  // read/write, spill.
  CHECK(row(s, 1, "stages", "0") ==
        std::vector<std::string>{"0", "map", "reduce_by_key <- flat_map <- text_file", "4/4", "1",
                                 "480 ms", "1.73 s", "420 ms", "440 ms", "10000", "1200", "0 B",
                                 "29.3 KiB", "0 B"});
  CHECK(row(s, 1, "stages", "1") ==
        std::vector<std::string>{"1", "result", "collect <- reduce_by_key", "4/4", "1", "909 ms",
                                 "1.22 s", "110 ms", "900 ms", "1200", "0", "29.3 KiB", "0 B",
                                 "0 B"});
  // The lost attempt counts in task time, not in the median or the succeeded tasks.
  CHECK(row(s, 2, "stages", "2") ==
        std::vector<std::string>{"2", "map", "distinct <- map <- text_file", "3/3", "1", "1.31 s",
                                 "2.52 s", "610 ms", "618 ms", "9000", "2410", "0 B", "47.1 KiB",
                                 "1.0 MiB"});
  CHECK(row(s, 2, "stages", "3")[3] == "2/2");
  CHECK(s.find("job 1: collect <- reduce_by_key\n  result      succeeded\n  duration    1.40 s") !=
        std::string::npos);
  CHECK(s.find("executors  3 seen, 1 lost: executor-0, executor-1, executor-2") !=
        std::string::npos);
}

TEST_CASE("the slowest tasks are listed longest first, ties by stage and partition", "[history]") {
  std::string s = fixture_summary();
  auto lines = section(s, 1, "slowest tasks");
  REQUIRE(lines.size() == 6);  // titles and the default top 5
  std::vector<std::string> order;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto c = cells(lines[i]);
    order.push_back(c[0] + "/" + c[1] + "/" + c[2] + " " + c[4]);
  }
  CHECK(order == std::vector<std::string>{"1/3/1 900 ms", "0/3/1 440 ms", "0/1/1 420 ms",
                                          "0/2/2 420 ms", "0/0/1 400 ms"});
  // A lost attempt is time spent too, and says how it ended.
  CHECK(cells(section(s, 2, "slowest tasks")[1]) ==
        std::vector<std::string>{"2", "1", "1", "executor-1", "690 ms", "0", "lost"});
  CHECK(section(fixture_summary({.job = {}, .top = 2}), 1, "slowest tasks").size() == 3);
}

TEST_CASE("a stage whose largest partition reads at least twice the median is flagged as skewed",
          "[history]") {
  std::string s = fixture_summary();
  CHECK(row(s, 1, "skew", "1") ==
        std::vector<std::string>{"1", "records", "3", "900", "105", "8.6x", "skewed"});
  CHECK(row(s, 1, "skew", "0") ==
        std::vector<std::string>{"0", "records", "0", "2500", "2500", "1.0x"});
  CHECK(row(s, 2, "skew", "2").size() == 6);  // 3100 against 3000: not flagged
}

TEST_CASE("retries list the failed and the lost task attempts with their messages", "[history]") {
  std::string s = fixture_summary();
  CHECK(row(s, 1, "retries", "262 ms") ==
        std::vector<std::string>{"262 ms", "0", "2", "1", "executor-0", "failed", "50 ms",
                                 "bad record at byte 4096: stoi: no conversion"});
  CHECK(row(s, 2, "retries", "2.40 s") ==
        std::vector<std::string>{"2.40 s", "2", "1", "1", "executor-1", "lost", "690 ms",
                                 "executor executor-1 lost: connection closed"});
}

TEST_CASE("lost executors are listed with their reason and time into the run", "[history]") {
  CHECK(lost_executor_rows(fixture_summary()) ==
        std::vector<std::vector<std::string>>{
            {"executor", "added at", "lost at", "tasks lost", "reason"},
            {"executor-1", "160 ms", "2.40 s", "1", "connection closed"}});
}

TEST_CASE("where the time went gives each stage's share of the job and task time by executor",
          "[history]") {
  std::string s = fixture_summary();
  CHECK(row(s, 1, "where the time went", "stage 0 (map)") ==
        std::vector<std::string>{"stage 0 (map)", "480 ms", "34%"});
  CHECK(row(s, 1, "where the time went", "stage 1 (result)") ==
        std::vector<std::string>{"stage 1 (result)", "909 ms", "65%"});
  CHECK(row(s, 1, "where the time went", "in no stage (scheduling, results)")[1] == "11 ms");
  CHECK(row(s, 1, "task time by executor", "executor-1") ==
        std::vector<std::string>{"executor-1", "1.88 s", "64%", "4"});
  CHECK(row(s, 2, "task time by executor", "executor-2") ==
        std::vector<std::string>{"executor-2", "220 ms", "7%", "1"});
}

TEST_CASE("the --job option shows one job, and a job the log does not have is refused",
          "[history]") {
  std::string s = fixture_summary({.job = 2});
  CHECK(s.find("\njob 1:") == std::string::npos);
  CHECK(s.find("\njob 2: count <- distinct") != std::string::npos);
  CHECK_THROWS_WITH(fixture_summary({.job = 9}),
                    Catch::Contains("--job 9") && Catch::Contains("jobs: 1, 2"));
}

TEST_CASE("a line that is not JSON fails naming the file and the line", "[history]") {
  CHECK(error_of(
            kStart +
            "{\"event\":\"job_start\",\n{\"event\":\"log_end\",\"time\":2,\"duration_ms\":1}\n") ==
        "test.jsonl:2: not JSON (incomplete JSON): {\"event\":\"job_start\",");
  CHECK(error_of(kStart + "\n[1,2]\n") == "test.jsonl:3: not a JSON object but array");
}

TEST_CASE("an event without a member it needs fails naming the file, the line and the member",
          "[history]") {
  CHECK(error_of(kStart + "{\"time\":5,\"job\":1}\n") == "test.jsonl:2: no \"event\" member");
  CHECK(error_of(kStart + R"({"event":"task_end","time":5,"job":1,"partition":0})"
                          "\n") == "test.jsonl:2: task_end has no \"stage\"");
  CHECK(error_of(kStart +
                 R"({"event":"job_end","time":5,"job":"one","duration_ms":1,"succeeded":true})"
                 "\n") == "test.jsonl:2: job_end: \"job\" should be a whole number, not string");
  CHECK(error_of(R"({"event":"job_start","time":5,"job":1})"
                 "\n") ==
        "test.jsonl:1: the first event is job_start, not log_start: is this a spate event log?");
  CHECK(error_of("") == "test.jsonl: no log_start line: empty, or not a spate event log");
}

TEST_CASE("a log of an unsupported version is refused", "[history]") {
  CHECK(error_of(R"({"event":"log_start","time":1000,"version":2,"app":"t"})"
                 "\n") ==
        "test.jsonl:1: unsupported event log version 2 (this spate-history reads version 1)");
}

TEST_CASE("a truncated last line is skipped with a note, but a bad line ending in a newline is not",
          "[history]") {
  std::string whole = read_all(kFixture);
  std::string cut = whole.substr(0, whole.size() - 30);  // inside log_end, the last line
  EventLog log = read_text(cut, "cut.jsonl");
  REQUIRE(log.notes.size() == 1);
  CHECK(log.notes[0] ==
        "line 48 is incomplete (the program was probably killed while writing it) and was skipped");
  CHECK_FALSE(log.duration_ms.has_value());
  std::string s = render_summary(log);
  CHECK(s.find("note: line 48 is incomplete") != std::string::npos);
  CHECK(s.find("duration   at least 3.25 s (no log_end") != std::string::npos);
  CHECK(row(s, 2, "stages", "3")[3] == "2/2");
  // With its newline the line was written whole, so it is bad, not cut short.
  CHECK_THROWS_WITH(read_text(cut + "\n", "cut.jsonl"),
                    Catch::StartsWith("cut.jsonl:48: not JSON"));
}

TEST_CASE("unknown events and members are ignored", "[history]") {
  std::string text = read_all(kFixture);
  text.insert(text.find('\n') + 1,
              R"({"event":"cache_evicted","time":1735732800100,"block":"rdd_3_1"})"
              "\n");
  std::string::size_type at = text.find(R"("description":"collect)");
  text.insert(at, R"("pool":{"name":"default","weight":[1,2]},)");
  std::string plain = fixture_summary();
  std::string with_extras = render_summary(read_text(text, kFixture.string()));
  CHECK(with_extras == plain);
}

TEST_CASE("a fetch failure and the map stage's second attempt show under retries", "[history]") {
  std::string text = kStart + R"(
{"event":"executor_added","time":1010,"executor":"executor-0","pid":11,"address":"127.0.0.1:4001","cores":1}
{"event":"executor_added","time":1011,"executor":"executor-1","pid":12,"address":"127.0.0.1:4002","cores":1}
{"event":"job_start","time":1100,"job":1,"description":"collect <- group_by_key","partitions":2}
{"event":"stage_submitted","time":1100,"job":1,"stage":0,"kind":"map","shuffle":0,"name":"group_by_key <- parallelize","tasks":2,"partitions":2,"parents":[],"attempt":1}
{"event":"task_end","time":1200,"job":1,"stage":0,"partition":0,"attempt":1,"executor":"executor-0","outcome":"succeeded","message":"","duration_ms":100,"records_in":10,"records_out":10}
{"event":"task_end","time":1200,"job":1,"stage":0,"partition":1,"attempt":1,"executor":"executor-1","outcome":"succeeded","message":"","duration_ms":100,"records_in":10,"records_out":10}
{"event":"stage_completed","time":1200,"job":1,"stage":0,"attempt":1,"duration_ms":100,"succeeded":true,"message":""}
{"event":"stage_submitted","time":1200,"job":1,"stage":1,"kind":"result","shuffle":-1,"name":"collect <- group_by_key","tasks":2,"partitions":2,"parents":[0],"attempt":1}
{"event":"executor_lost","time":1250,"executor":"executor-1","reason":"missed heartbeats for 10 s"}
{"event":"task_end","time":1300,"job":1,"stage":1,"partition":0,"attempt":1,"executor":"executor-0","outcome":"fetch_failed","message":"shuffle 0 map output 1 on executor-1 is gone","duration_ms":100}
{"event":"stage_submitted","time":1300,"job":1,"stage":0,"kind":"map","shuffle":0,"name":"group_by_key <- parallelize","tasks":1,"partitions":2,"parents":[],"attempt":2}
{"event":"task_end","time":1400,"job":1,"stage":0,"partition":1,"attempt":1,"executor":"executor-0","outcome":"succeeded","message":"","duration_ms":100,"records_in":10,"records_out":10}
{"event":"stage_completed","time":1400,"job":1,"stage":0,"attempt":2,"duration_ms":100,"succeeded":true,"message":""}
{"event":"task_end","time":1500,"job":1,"stage":1,"partition":0,"attempt":2,"executor":"executor-0","outcome":"succeeded","message":"","duration_ms":100,"records_in":10}
{"event":"task_end","time":1600,"job":1,"stage":1,"partition":1,"attempt":1,"executor":"executor-0","outcome":"succeeded","message":"","duration_ms":100,"records_in":10}
{"event":"stage_completed","time":1600,"job":1,"stage":1,"attempt":1,"duration_ms":400,"succeeded":true,"message":""}
{"event":"job_end","time":1600,"job":1,"duration_ms":500,"succeeded":true,"error":""}
)";
  std::string s = render_summary(read_text(text));
  auto stage0 = row(s, 1, "stages", "0");
  CHECK(stage0[3] == "2/2");
  CHECK(stage0[4] == "2");       // attempts
  CHECK(stage0[5] == "200 ms");  // both submissions
  CHECK(stage0[10] == "30");     // records out: partition 1 wrote twice
  CHECK(row(s, 1, "retries", "300 ms") ==
        std::vector<std::string>{"300 ms", "1", "0", "1", "executor-0", "fetch_failed", "100 ms",
                                 "shuffle 0 map output 1 on executor-1 is gone"});
  CHECK(s.find("    stage 0 submitted again (attempt 2) at 300 ms for 1 of 2 partitions\n") !=
        std::string::npos);
  CHECK(lost_executor_rows(s).at(1) == std::vector<std::string>{"executor-1", "11 ms", "250 ms",
                                                                "0", "missed heartbeats for 10 s"});
}

TEST_CASE("a failed job shows its error, and a log that stops mid-job marks what was unfinished",
          "[history]") {
  std::string text = kStart + R"(
{"event":"job_start","time":1100,"job":1,"description":"count <- map","partitions":1}
{"event":"stage_submitted","time":1100,"job":1,"stage":0,"kind":"result","shuffle":-1,"name":"count <- map","tasks":1,"partitions":1,"parents":[],"attempt":1}
{"event":"task_start","time":1100,"job":1,"stage":0,"partition":0,"attempt":1,"executor":"driver"}
{"event":"task_end","time":1150,"job":1,"stage":0,"partition":0,"attempt":1,"executor":"driver","outcome":"failed","message":"boom","duration_ms":50}
{"event":"task_start","time":1150,"job":1,"stage":0,"partition":0,"attempt":2,"executor":"driver"}
{"event":"task_end","time":1200,"job":1,"stage":0,"partition":0,"attempt":2,"executor":"driver","outcome":"failed","message":"boom","duration_ms":50}
{"event":"stage_completed","time":1200,"job":1,"stage":0,"attempt":1,"duration_ms":100,"succeeded":false,"message":"partition 0 failed 2 times: boom"}
{"event":"job_end","time":1200,"job":1,"duration_ms":100,"succeeded":false,"error":"stage 0 partition 0 failed after 2 attempts: boom"}
{"event":"job_start","time":1300,"job":2,"description":"collect <- map","partitions":1}
{"event":"stage_submitted","time":1300,"job":2,"stage":1,"kind":"result","shuffle":-1,"name":"collect <- map","tasks":1,"partitions":1,"parents":[],"attempt":1}
{"event":"task_start","time":1310,"job":2,"stage":1,"partition":0,"attempt":1,"executor":"driver"}
)";
  std::string s = render_summary(read_text(text));
  CHECK(s.find("  result      failed: stage 0 partition 0 failed after 2 attempts: boom\n") !=
        std::string::npos);
  CHECK(s.find("    stage 0 attempt 1 failed at 200 ms: partition 0 failed 2 times: boom\n") !=
        std::string::npos);
  CHECK(row(s, 1, "stages", "0")[3] == "0/1");
  CHECK(s.find("  result      unfinished (the log ends before job_end)\n") != std::string::npos);
  CHECK(row(s, 2, "stages", "1")[5] == "unfinished");
  CHECK(s.find("    stage 1: 1 task attempt started and never ended\n") != std::string::npos);
  CHECK(s.find("jobs       2 (0 succeeded, 1 failed, 1 unfinished)") != std::string::npos);
  CHECK(s.find("executors  1 seen, 0 lost: driver") != std::string::npos);
}

TEST_CASE("spate-history on the fixture exits 0 and prints the stage lines", "[history]") {
  Run r = run_history("'" + kFixture.string() + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out == fixture_summary());
  CHECK(row(r.out, 1, "stages", "0")[2] == "reduce_by_key <- flat_map <- text_file");
  CHECK(row(r.out, 1, "stages", "1")[2] == "collect <- reduce_by_key");
  CHECK(row(r.out, 2, "stages", "2")[2] == "distinct <- map <- text_file");
  CHECK(row(r.out, 2, "stages", "3")[2] == "count <- distinct");
}

TEST_CASE("spate-history given a directory reads its newest event log", "[history]") {
  TempDir dir;
  std::string older =
      kStart + R"({"event":"job_start","time":1100,"job":7,"description":"older","partitions":1})"
               "\n";
  std::ofstream(dir.path / "spate-events-20240101T000000-1.jsonl") << older;
  fs::copy_file(kFixture, dir.path / "spate-events-20250101T120000-4242.jsonl");
  std::ofstream(dir.path / "notes.txt") << "not a log\n";
  auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir.path / "spate-events-20240101T000000-1.jsonl",
                      now - std::chrono::hours(1));
  fs::last_write_time(dir.path / "spate-events-20250101T120000-4242.jsonl", now);
  Run r = run_history("--job 2 '" + dir.path.string() + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("spate-events-20250101T120000-4242.jsonl") != std::string::npos);
  CHECK(r.out.find("\njob 2: count <- distinct") != std::string::npos);

  fs::path empty = dir.path / "empty";
  fs::create_directory(empty);
  Run none = run_history("'" + empty.string() + "'");
  CHECK(none.exit_code == 1);
  CHECK(none.err == "spate-history: " + empty.string() + " holds no spate-events-*.jsonl\n");
}

TEST_CASE("spate-history exits 1 with a one-line error for a bad log and 2 for a bad command line",
          "[history]") {
  TempDir dir;
  fs::path bad = dir.path / "bad.jsonl";
  std::ofstream(bad) << kStart << "oops\n";
  Run r = run_history("'" + bad.string() + "'");
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "spate-history: " + bad.string() + ":2: not JSON (syntax error): oops\n");

  Run usage = run_history("--top 0 '" + kFixture.string() + "'");
  CHECK(usage.exit_code == 2);
  CHECK(usage.err ==
        "spate-history: --top needs a whole number of 1 or more, not '0' (spate-history --help "
        "lists the flags)\n");
  Run typo = run_history("--tpo 3 '" + kFixture.string() + "'");
  CHECK(typo.exit_code == 2);
  CHECK(typo.err ==
        "spate-history: unknown argument '--tpo', did you mean --top? (spate-history --help lists "
        "the flags)\n");
  CHECK(run_history("").exit_code == 2);
  Run help = run_history("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.out.starts_with("usage: spate-history [--job N] [--top K] FILE\n"));
}
