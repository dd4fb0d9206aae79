// spate-bench-clicks: runs click-log jobs (CLICKLOG.md) with the hand-written baseline and with
// spate under each master in one run, checks that every output is byte-identical to the
// baseline's, and prints rows/s, wall time, peak RSS and the ratios to the baseline.
#include <spate/clicklog.hpp>
#include <spate/clicklog_generator.hpp>
#include <spate/command_line.hpp>

#include "bench_support.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: spate-bench-clicks [--rows N] [--data-dir DIR | --input FILE] [--jobs LIST]\n"
    "                          [--masters LIST] [--repeat R] [--bin-dir DIR] [--wire MODES]\n"
    "  --rows N        rows of the generated click log (default 10000000)\n"
    "  --data-dir DIR  where clicks-N.tsv is made if missing (default <bin-dir>/../bench-data)\n"
    "  --input FILE    use this click log instead (campaigns.tsv beside it)\n"
    "  --jobs LIST     any of ctr,uniques,join,sessions,wordcount (default ctr,wordcount)\n"
    "  --masters LIST  comma-separated spate masters (default local[1],local[<hardware threads>],\n"
    "                  local-cluster[<hardware threads>])\n"
    "  --repeat R      runs of each program; the table shows the median wall time (default 3)\n"
    "  --bin-dir DIR   holds spate-clicks and spate-handwritten-clicks (default: this program's)\n"
    "  --wire MODES    sealed (the default) and/or plain: with both, each local-cluster master\n"
    "                  also runs with SPATE_WIRE_ENCRYPTION=off, and a table compares the two\n";

constexpr std::uint64_t kSeed = 1;  // the seed scripts/example uses; any fixed seed would do

// Issue 16's targets, for the modes it names (issues 2 and 5 had asked for 1.5x and 1.0x).
constexpr double kLocal1MaxRatio = 1.3;  // local[1] within 1.3x of the hand-written loop
constexpr double kLocal2MaxRatio = 0.6;  // local[2] within 0.6x of it
constexpr double kLocal2MaxRssMb = 400;  // local[2] peak memory under 400 MB
constexpr double kClusterMaxRatio = 1.3;  // local-cluster[2] within 1.3x of local[2] (issue 3)

struct UsageError {
  std::string message;
};

// Something the benchmark cannot go on without: a missing program, a failing child.
struct BenchError {
  std::string message;
};

struct Options {
  std::int64_t rows = 10'000'000;
  fs::path data_dir;  // empty: <bin-dir>/../bench-data, i.e. build/bench-data
  fs::path input;     // empty: <data-dir>/clicks-<rows>.tsv
  std::vector<std::string> jobs{"ctr", "wordcount"};
  std::vector<std::string> masters;  // empty: local[1] and local[<hardware threads>]
  int repeat = 3;
  fs::path bin_dir;  // empty: the directory of this executable
  bool sealed_wire = true, plain_wire = false;  // --wire
};

// One program that computes a job: the baseline (no master) or spate under one master.
struct Contender {
  std::string master;  // empty: the hand-written baseline
  bool plain_wire = false;  // run with SPATE_WIRE_ENCRYPTION=off
  std::string label() const {
    return master.empty() ? "hand-written" : "spate " + master + (plain_wire ? " plain" : "");
  }
};

struct Measurement {
  double wall_s = 0;
  double peak_rss_mb = 0;
  // From the "spate metrics:" line spate prints with --metrics: shuffle bytes fetched from other
  // executors over TCP, and the time the fetching tasks spent on them (summed over tasks).
  double remote_bytes = 0;
  double fetch_s = 0;
};

// The figures of one table row: the median wall time over the repeats, the largest peak RSS.
struct Row {
  std::string job;
  Contender contender;
  double wall_s = 0;
  double peak_rss_mb = 0;
  bool output_matches = true;  // every run's output equal to the baseline's
  double remote_bytes = 0;     // mean over the runs
  double fetch_s = 0;          // mean over the runs
};

// A fresh directory for the children's outputs and logs, removed at the end unless keep() was
// called (a mismatch keeps the differing files for inspection).
class TempDir {
 public:
  TempDir() {
    std::string name = (fs::temp_directory_path() / "spate-bench-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) {
      throw BenchError{fmt::format("cannot create a directory in /tmp: {}", std::strerror(errno))};
    }
    path_ = name;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;  // best effort: a leftover directory in /tmp is harmless
    if (!keep_) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  fs::path path_;
  bool keep_ = false;
};

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::int64_t parse_positive(std::string_view flag, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0) {
    throw UsageError{fmt::format("{} expects a positive integer, got '{}'", flag, text)};
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const std::initializer_list<std::string_view> kFlags = {
        "--rows", "--data-dir", "--input", "--jobs", "--masters", "--repeat", "--bin-dir", "--wire"};
    if (std::find(kFlags.begin(), kFlags.end(), flag) == kFlags.end())
      throw UsageError{spate::unknown_argument(flag, kFlags)};
    if (i + 1 >= argc) throw UsageError{fmt::format("{} needs a value", flag)};
    const std::string_view value = argv[++i];
    if (flag == "--rows") o.rows = parse_positive(flag, value);
    else if (flag == "--data-dir") o.data_dir = value;
    else if (flag == "--input") o.input = value;
    else if (flag == "--jobs") o.jobs = split_list(value);
    else if (flag == "--masters") o.masters = split_list(value);
    else if (flag == "--repeat") o.repeat = static_cast<int>(parse_positive(flag, value));
    else if (flag == "--wire") {
      o.sealed_wire = o.plain_wire = false;
      for (const auto& mode : split_list(value)) {
        if (mode == "sealed") o.sealed_wire = true;
        else if (mode == "plain") o.plain_wire = true;
        else throw UsageError{fmt::format("--wire: '{}' is neither sealed nor plain", mode)};
      }
    } else o.bin_dir = value;
  }
  for (const auto& job : o.jobs) {
    if (!spate::click_job_from_name(job)) throw UsageError{fmt::format("unknown job '{}'", job)};
  }
  if (o.jobs.empty()) throw UsageError{"--jobs names no job"};
  return o;
}

std::vector<std::string> default_masters() {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads == 1) return {"local[1]", "local-cluster[1]"};
  return {"local[1]", fmt::format("local[{}]", threads), fmt::format("local-cluster[{}]", threads)};
}

fs::path own_directory() { return fs::read_symlink("/proc/self/exe").parent_path(); }

void require_executable(const fs::path& program) {
  if (::access(program.c_str(), X_OK) != 0) {
    throw BenchError{fmt::format(
        "cannot run {}: {}. Build it (cmake --build BUILD --target spate-clicks "
        "spate-handwritten-clicks) or point --bin-dir at the directory that holds it",
        program.string(), std::strerror(errno))};
  }
}

// Generates in a forked child: exec keeps the parent's peak RSS as a floor of every later child's
// ru_maxrss, so the generator's buffers must never count in this process.
void generate_in_child(const spate::ClickGenOptions& options) {
  const pid_t pid = ::fork();
  if (pid < 0) throw BenchError{fmt::format("fork failed: {}", std::strerror(errno))};
  if (pid == 0) {
    try {
      spate::generate_clicks(options);
      std::_Exit(0);
    } catch (const std::exception& e) {
      fmt::print(stderr, "spate-bench-clicks: generating {} failed: {}\n", options.out, e.what());
      std::_Exit(1);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw BenchError{fmt::format("could not generate the click log {}", options.out)};
  }
}

// Generates under a temporary name and renames, so an interrupted run never leaves a short log
// that a later run would take for a complete one.
fs::path ensure_click_log(const Options& o) {
  if (!o.input.empty()) return o.input;
  const fs::path log = o.data_dir / fmt::format("clicks-{}.tsv", o.rows);
  if (fs::exists(log)) return log;
  fs::create_directories(o.data_dir);
  fmt::print("generating {} rows into {} (once; later runs reuse it)\n", o.rows, log.string());
  std::fflush(stdout);
  const fs::path partial = log.string() + ".partial";
  generate_in_child({.rows = o.rows,
                     .seed = kSeed,
                     .out = partial.string(),
                     .campaigns_out = (o.data_dir / "campaigns.tsv").string()});
  fs::rename(partial, log);
  return log;
}

// Reads the whole file once, so that every contender finds it in the page cache (the issues'
// targets are for a warm cache), and returns its data lines (all lines after the header).
std::int64_t warm_page_cache(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BenchError{fmt::format("cannot open the click log {}", path.string())};
  std::vector<char> buffer(1 << 20);
  std::int64_t newlines = 0;
  char last = '\n';
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    newlines += std::count(buffer.data(), buffer.data() + n, '\n');
    last = buffer[n - 1];
  }
  const std::int64_t lines = newlines + (last == '\n' ? 0 : 1);
  return std::max<std::int64_t>(0, lines - 1);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail(const std::string& text, std::size_t max_bytes) {
  return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

std::string join_command(const std::vector<std::string>& args) {
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  return command;
}

// Runs a program to completion with stdout and stderr going to `log`. wait4 gives the child's peak
// RSS (floored at this process's few MB, which exec carries over); timing spawn-to-reap counts
// start-up and exit, as a user of the program would see them.
Measurement run_child(const std::vector<std::string>& args, const fs::path& log, bool plain_wire = false) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string plain = "SPATE_WIRE_ENCRYPTION=off";
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("SPATE_WIRE_ENCRYPTION=")) envp.push_back(*e);
  if (plain_wire) envp.push_back(plain.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);

  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int spawn_error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    throw BenchError{fmt::format("cannot start {}: {}", args[0], std::strerror(spawn_error))};
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw BenchError{fmt::format("wait4 failed: {}", std::strerror(errno))};
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;

  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status)
                                ? fmt::format("exited with code {}", WEXITSTATUS(status))
                                : fmt::format("was killed by signal {}", WTERMSIG(status));
    throw BenchError{fmt::format("this command {}:\n  {}\nits output:\n{}", how,
                                 join_command(args), tail(read_file(log), 4000))};
  }
  return {wall.count(), static_cast<double>(usage.ru_maxrss) / 1024.0};  // ru_maxrss is in KiB
}

std::vector<std::string> command_for(const fs::path& bin_dir, const Contender& c,
                                     const std::string& job, const fs::path& input,
                                     const fs::path& out) {
  if (c.master.empty()) {
    return {(bin_dir / "spate-handwritten-clicks").string(), job, "--input", input.string(),
            "--out", out.string()};
  }
  return {(bin_dir / "spate-clicks").string(), job, "--input", input.string(), "--master",
          c.master, "--out", out.string(), "--metrics"};
}

// A counter from the "spate metrics: name=value ..." line of a spate run's output (0 if absent).
double metric(const std::string& output, const std::string& name) {
  const auto line = output.rfind("spate metrics:");
  if (line == std::string::npos) return 0;
  const auto end = output.find('\n', line);
  const std::string text = output.substr(line, end == std::string::npos ? std::string::npos : end - line);
  const auto at = text.find(" " + name + "=");
  if (at == std::string::npos) return 0;
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

// Where two outputs first differ, for the mismatch report.
std::string first_difference(const std::string& expected, const std::string& actual) {
  const auto [e, a] = std::mismatch(expected.begin(), expected.end(), actual.begin(), actual.end());
  const auto line = 1 + std::count(expected.begin(), e, '\n');
  return fmt::format("sizes {} and {} bytes; first difference at byte {} (line {})",
                     expected.size(), actual.size(), e - expected.begin(), line);
}

// Runs every contender `repeat` times, interleaved so that drift in machine load touches all of
// them alike; every output is compared with the first baseline output. Returns one row per
// contender, the baseline first.
std::vector<Row> bench_job(const Options& o, const std::string& job, const fs::path& input,
                           const std::vector<Contender>& contenders, const fs::path& tmp) {
  std::vector<std::vector<Measurement>> runs(contenders.size());
  std::vector<bool> matches(contenders.size(), true);
  std::string expected;
  for (int r = 0; r < o.repeat; ++r) {
    for (std::size_t c = 0; c < contenders.size(); ++c) {
      const fs::path out = tmp / fmt::format("{}-{}-{}.tsv", job, c, r);
      const auto args = command_for(o.bin_dir, contenders[c], job, input, out);
      Measurement m = run_child(args, tmp / "child.log", contenders[c].plain_wire);
      if (!contenders[c].master.empty()) {
        const std::string output = read_file(tmp / "child.log");
        m.remote_bytes = metric(output, "shuffle.remote_bytes");
        m.fetch_s = metric(output, "shuffle.fetch_micros") / 1e6;
      }
      runs[c].push_back(m);
      const std::string actual = read_file(out);
      if (r == 0 && c == 0) expected = actual;
      if (actual != expected) {
        matches[c] = false;
        std::fflush(stdout);
        fmt::print(stderr, "\n*** OUTPUT MISMATCH: {} {} differs from the hand-written baseline: "
                           "{}\n*** kept {} and {}\n\n",
                   job, contenders[c].label(), first_difference(expected, actual), out.string(),
                   (tmp / fmt::format("{}-0-0.tsv", job)).string());
      } else if (r > 0 || c > 0) {
        fs::remove(out);
      }
    }
  }
  std::vector<Row> rows;
  for (std::size_t c = 0; c < contenders.size(); ++c) {
    std::vector<double> walls;
    double rss = 0, remote = 0, fetch = 0;
    for (const auto& m : runs[c]) {
      walls.push_back(m.wall_s);
      rss = std::max(rss, m.peak_rss_mb);
      remote += m.remote_bytes / static_cast<double>(runs[c].size());
      fetch += m.fetch_s / static_cast<double>(runs[c].size());
    }
    rows.push_back({job, contenders[c], spate_bench::median(walls), rss, matches[c], remote, fetch});
  }
  return rows;
}

// The issues' target for a row and whether it is met; "-" for modes the issues do not name.
std::string target_verdict(const Row& row, double ratio) {
  auto verdict = [](bool met) { return met ? "met" : "MISSED"; };
  if (row.contender.master == "local[1]") {
    return fmt::format("<= {:.1f}x: {}", kLocal1MaxRatio, verdict(ratio <= kLocal1MaxRatio));
  }
  if (row.contender.master == "local[2]") {
    const bool met = ratio <= kLocal2MaxRatio && row.peak_rss_mb < kLocal2MaxRssMb;
    return fmt::format("<= {:.1f}x, < {:.0f} MB: {}", kLocal2MaxRatio, kLocal2MaxRssMb,
                       verdict(met));
  }
  return "-";
}

// Executor processes against threads: each local-cluster[N] row against local[N] of the same
// job, with the shuffle bytes that crossed between executors and the rate they were fetched at.
void print_cluster_table(const std::vector<Row>& rows) {
  std::map<std::pair<std::string, std::string>, double> threads;  // (job, N) -> local[N] wall
  for (const auto& row : rows)
    if (row.contender.master.starts_with("local["))
      threads[{row.job, row.contender.master.substr(6, row.contender.master.size() - 7)}] = row.wall_s;
  bool header = false;
  for (const auto& row : rows) {
    const std::string& m = row.contender.master;
    if (!m.starts_with("local-cluster[")) continue;
    std::string n = m.substr(14, m.size() - 15);
    n = n.substr(0, n.find(','));
    if (!header) {
      fmt::print("\n{:<10} {:<24} {:>12} {:>20} {:>16} {:>18}\n", "job", "engine/mode", "vs local[N]",
                 "target (issue 3)", "shuffle MB (TCP)", "fetch MB/s (task)");
      header = true;
    }
    auto it = threads.find({row.job, n});
    const double ratio = it == threads.end() ? 0 : row.wall_s / it->second;
    fmt::print("{:<10} {:<24} {:>12} {:>20} {:>16.1f} {:>18}\n", row.job, row.contender.label(),
               it == threads.end() ? "-" : fmt::format("{:.2f}x", ratio),
               it == threads.end() ? "-"
                                   : fmt::format("<= {:.1f}x: {}", kClusterMaxRatio,
                                                 ratio <= kClusterMaxRatio ? "met" : "MISSED"),
               row.remote_bytes / 1e6,
               row.fetch_s > 0 ? fmt::format("{:.0f}", row.remote_bytes / 1e6 / row.fetch_s) : "-");
  }
  if (header)
    fmt::print("shuffle MB (TCP): bytes reducers fetched from other executors; fetch MB/s: those\n"
               "bytes over the time the fetching tasks waited for them (summed over tasks).\n");
}

// Encryption's cost: each local-cluster row with a sealed wire against the same master's plain
// one, with the rate reducers fetched at in each.
void print_wire_table(const std::vector<Row>& rows) {
  std::map<std::pair<std::string, std::string>, const Row*> plain;  // (job, master)
  for (const auto& row : rows)
    if (row.contender.plain_wire) plain[{row.job, row.contender.master}] = &row;
  if (plain.empty()) return;
  fmt::print("\n{:<10} {:<24} {:>14} {:>14} {:>20} {:>20}\n", "job", "master", "sealed/plain", "target",
             "sealed fetch MB/s", "plain fetch MB/s");
  auto rate = [](const Row& r) { return r.fetch_s > 0 ? fmt::format("{:.0f}", r.remote_bytes / 1e6 / r.fetch_s) : "-"; };
  for (const auto& row : rows) {
    if (row.contender.plain_wire || !row.contender.master.starts_with("local-cluster[")) continue;
    auto it = plain.find({row.job, row.contender.master});
    if (it == plain.end()) continue;
    const double ratio = row.wall_s / it->second->wall_s;
    fmt::print("{:<10} {:<24} {:>13.2f}x {:>14} {:>20} {:>20}\n", row.job, row.contender.master, ratio,
               fmt::format("<= 1.10x: {}", ratio <= 1.10 ? "met" : "MISSED"), rate(row), rate(*it->second));
  }
  fmt::print("sealed/plain: wall time with every frame encrypted (AES-256-GCM) over the same run with\n"
             "SPATE_WIRE_ENCRYPTION=off (issue 15's target).\n");
}

void print_table(const std::vector<Row>& rows, std::int64_t data_lines) {
  fmt::print("\n{:<10} {:<24} {:>12} {:>9} {:>12} {:>10} {:>12}  {}\n", "job", "engine/mode",
             "rows/s", "wall s", "peak RSS MB", "vs hand", "vs local[1]", "target (issue 16)");
  std::map<std::string, double> baseline, local1;  // wall time by job
  for (const auto& row : rows) {
    if (row.contender.master.empty()) baseline[row.job] = row.wall_s;
    if (row.contender.master == "local[1]") local1[row.job] = row.wall_s;
  }
  for (const auto& row : rows) {
    const double ratio = row.wall_s / baseline[row.job];
    const bool is_spate = !row.contender.master.empty();
    const bool has_speedup =
        is_spate && row.contender.master != "local[1]" && local1.contains(row.job);
    fmt::print("{:<10} {:<24} {:>11.2f}M {:>9.3f} {:>12.1f} {:>9.2f}x {:>12}  {}{}\n", row.job,
               row.contender.label(), static_cast<double>(data_lines) / row.wall_s / 1e6,
               row.wall_s, row.peak_rss_mb, ratio,
               has_speedup ? fmt::format("{:.2f}x", local1[row.job] / row.wall_s) : "-",
               is_spate ? target_verdict(row, ratio) : "-",
               row.output_matches ? "" : "   *** OUTPUT DIFFERS ***");
  }
  print_cluster_table(rows);
  print_wire_table(rows);
  fmt::print("\nwall s: median of the runs; peak RSS: the largest over the runs; vs hand: wall\n"
             "time over the hand-written baseline's (lower is better); vs local[1]: speedup.\n"
             "Targets are informational; the exit code reports only failures and mismatches.\n");
}

int run(Options o) {
  if (o.bin_dir.empty()) o.bin_dir = own_directory();
  if (o.data_dir.empty()) o.data_dir = o.bin_dir.parent_path() / "bench-data";
  if (o.masters.empty()) o.masters = default_masters();
  require_executable(o.bin_dir / "spate-handwritten-clicks");
  require_executable(o.bin_dir / "spate-clicks");

  const fs::path input = ensure_click_log(o);
  const std::int64_t data_lines = warm_page_cache(input);
  fmt::print("input {} ({:.0f} MB, {} data lines, page cache warmed); {} hardware threads; "
             "{} run(s) each\n",
             input.string(), static_cast<double>(fs::file_size(input)) / 1e6, data_lines,
             std::thread::hardware_concurrency(), o.repeat);
  std::fflush(stdout);

  std::vector<Contender> contenders{{""}};
  for (const auto& m : o.masters) {
    const bool cluster = m.starts_with("local-cluster[") || m.starts_with("spate://");
    if (o.sealed_wire || !cluster) contenders.push_back({m});
    if (o.plain_wire && cluster) contenders.push_back({m, true});
  }
  TempDir tmp;
  std::vector<Row> rows;
  for (const auto& job : o.jobs) {
    const auto job_rows = bench_job(o, job, input, contenders, tmp.path());
    rows.insert(rows.end(), job_rows.begin(), job_rows.end());
  }
  print_table(rows, data_lines);
  if (!std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.output_matches; })) {
    tmp.keep();
    std::fflush(stdout);
    fmt::print(stderr, "\nspate-bench-clicks: OUTPUTS DIFFER from the hand-written baseline (see "
                       "above); kept {}\n", tmp.path().string());
    return 1;
  }
  fmt::print("all spate outputs are byte-identical to the hand-written baseline's\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}\n", spate::usage_hint("spate-bench-clicks", e.message));
    return 2;
  } catch (const BenchError& e) {
    fmt::print(stderr, "spate-bench-clicks: {}\n", e.message);
    return 1;
  } catch (const std::exception& e) {  // spate::error from the generator, filesystem_error
    fmt::print(stderr, "spate-bench-clicks: {}\n", e.what());
    return 1;
  }
}
