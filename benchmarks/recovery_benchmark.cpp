// spate-bench-recovery: the cost of losing an executor. Runs J1 (ctr, through spate-clicks) and a
// sort_by_key job (this program's own) in local-cluster[N], once without a fault and once with
// one executor killed with SIGKILL half-way through the fault-free run's time, checks that both
// give the same output, and prints the wall times, their ratio and the task attempts re-run.
//
//   spate-bench-recovery [--rows N] [--input FILE] [--executors N] [--repeat R] [--bin-dir DIR]
//   spate-bench-recovery sort --input FILE --out FILE --master M    (the sort job itself)
#include <fcntl.h>
#include <fmt/core.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spate/clicklog_generator.hpp>
#include <spate/clicklog_reader.hpp>
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr double kMaxRatio = 1.5;  // issue 4: a run with a lost executor within 1.5x

// The sort job: every valid click keyed by (timestamp, ad), sorted; the output is one line per
// partition of the sorted dataset (records, first key, last key, and an order-sensitive checksum).
int sort_job(spate::Context& ctx) {
  const auto& args = ctx.args();
  std::string input, out;
  for (std::size_t i = 2; i + 1 < args.size(); i += 2) {
    if (args[i] == "--input") input = args[i + 1];
    if (args[i] == "--out") out = args[i + 1];
  }
  if (input.empty() || out.empty()) {
    std::fprintf(stderr, "usage: spate-bench-recovery sort --input FILE --out FILE [--master M]\n");
    return 2;
  }
  auto log = spate::read_click_log(ctx, input);
  using Key = std::pair<std::int64_t, std::int64_t>;
  auto summary = log.records()
                     .map([](const spate::ClickView& c) { return std::pair<Key, std::int64_t>{{c.ts, c.ad_id}, c.cost_micros}; })
                     .sort_by_key()
                     .map_partitions([](std::size_t p, std::vector<std::pair<Key, std::int64_t>> v) {
                       std::uint64_t h = 0;
                       for (const auto& [k, cost] : v)
                         h = (h ^ static_cast<std::uint64_t>(k.first) ^ (static_cast<std::uint64_t>(k.second) << 20) ^
                              static_cast<std::uint64_t>(cost)) *
                             0x100000001b3ULL;
                       std::string line = fmt::format("{}\t{}", p, v.size());
                       if (!v.empty())
                         line += fmt::format("\t{},{}\t{},{}", v.front().first.first, v.front().first.second,
                                             v.back().first.first, v.back().first.second);
                       return std::vector<std::string>{line + fmt::format("\t{:016x}", h)};
                     })
                     .collect();
  std::ofstream f(out);
  for (const auto& line : summary) f << line << "\n";
  return f.flush() ? 0 : 1;
}

struct Run {
  double wall_s = 0;
  std::map<std::string, double> metrics;
  std::string output;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string pid, comm, state;
    pid_t ppid = 0;
    if (stat >> pid >> comm >> state >> ppid && ppid == parent) out.push_back(std::stoi(pid));
  }
  return out;
}

std::map<std::string, double> parse_metrics(const std::string& log) {
  std::map<std::string, double> m;
  auto at = log.rfind("spate metrics:");
  if (at == std::string::npos) return m;
  std::istringstream line(log.substr(at + 14, log.find('\n', at) - at - 14));
  for (std::string kv; line >> kv;)
    if (auto eq = kv.find('='); eq != std::string::npos) m[kv.substr(0, eq)] = std::strtod(kv.c_str() + eq + 1, nullptr);
  return m;
}

// Runs `args` (a spate program with --metrics), killing one of its executors after `kill_after`
// seconds when that is positive.
Run run(std::vector<std::string> args, const fs::path& out, const fs::path& log, double kill_after) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", argv[0]);
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  bool killed = kill_after <= 0;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!killed && now >= kill_after) {
      auto executors = children_of(pid);
      if (!executors.empty()) ::kill(executors.front(), SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  Run r;
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text = slurp(log);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "this run failed:\n  %s ...\n%s\n", args[0].c_str(), text.c_str());
    std::exit(1);
  }
  r.metrics = parse_metrics(text);
  r.output = slurp(out);
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

constexpr const char* kUsage =
    "usage: spate-bench-recovery [--rows N] [--input FILE] [--executors N] [--repeat R] [--bin-dir DIR]\n"
    "Times J1 and a sort_by_key job in local-cluster[N] without a fault and with one executor\n"
    "killed half-way, checks both give the same output, and prints the times and their ratio.\n"
    "  --rows N        rows of the generated click log (default 10000000)\n"
    "  --input FILE    use this click log instead of generating one\n"
    "  --executors N   executors of local-cluster (default 2)\n"
    "  --repeat R      runs of each (default 3)\n"
    "  --bin-dir DIR   where spate-clicks and spate-gen-clicks are (default: beside this program)\n";

int harness(int argc, char** argv) {
  std::size_t rows = 10'000'000, executors = 2;
  int repeat = 3;
  fs::path input, bin = fs::read_symlink("/proc/self/exe").parent_path();
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    const std::initializer_list<std::string_view> kFlags = {"--rows", "--input", "--executors",
                                                                "--repeat", "--bin-dir"};
    if (std::find(kFlags.begin(), kFlags.end(), a) == kFlags.end()) {
      std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-recovery", spate::unknown_argument(a, kFlags)).c_str());
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-recovery", a + " needs a value").c_str());
      return 2;
    }
    std::string v = argv[i + 1];
    if (a == "--rows") rows = std::stoull(v);
    else if (a == "--input") input = v;
    else if (a == "--executors") executors = std::stoull(v);
    else if (a == "--repeat") repeat = std::stoi(v);
    else bin = v;
  }
  fs::path tmp = fs::temp_directory_path() / fmt::format("spate-bench-recovery-{}", ::getpid());
  fs::create_directories(tmp);
  if (input.empty()) {
    input = bin.parent_path() / "bench-data" / fmt::format("clicks-{}.tsv", rows);
    if (!fs::exists(input)) {
      fs::create_directories(input.parent_path());
      fmt::print("generating {} rows into {}\n", rows, input.string());
      spate::generate_clicks({.rows = static_cast<std::int64_t>(rows), .seed = 1, .out = input.string()});
    }
  }
  std::string master = fmt::format("local-cluster[{}]", executors);
  fmt::print("input {}; {}; median of {} runs each; one executor killed half-way\n\n", input.string(), master,
             repeat);
  fmt::print("{:<6} {:>12} {:>14} {:>8} {:>14} {:>16}  {}\n", "job", "no fault s", "one killed s", "ratio",
             "target", "extra attempts", "output");
  for (std::string job : {"ctr", "sort"}) {
    fs::path out = tmp / (job + ".out"), log = tmp / (job + ".log");
    std::vector<std::string> args =
        job == "ctr" ? std::vector<std::string>{(bin / "spate-clicks").string(), "ctr"}
                     : std::vector<std::string>{(bin / "spate-bench-recovery").string(), "sort"};
    for (const std::string& a : std::vector<std::string>{"--input", input.string(), "--out", out.string(), "--master",
                                                         master, "--metrics"})
      args.push_back(a);
    std::vector<double> clean, faulty, extra;
    bool same = true;
    for (int r = 0; r < repeat; ++r) {
      Run c = run(args, out, log, 0);
      Run f = run(args, out, log, c.wall_s / 2);
      same = same && f.output == c.output;
      clean.push_back(c.wall_s);
      faulty.push_back(f.wall_s);
      auto attempts = [](const Run& x) {
        double n = 0;
        for (const char* k : {"tasks.succeeded", "tasks.lost", "tasks.fetch_failed", "tasks.failed"})
          if (auto it = x.metrics.find(k); it != x.metrics.end()) n += it->second;
        return n;
      };
      extra.push_back(attempts(f) - attempts(c));
    }
    double ratio = median(faulty) / median(clean);
    fmt::print("{:<6} {:>12.3f} {:>14.3f} {:>7.2f}x {:>14} {:>16.0f}  {}\n", job, median(clean), median(faulty),
               ratio, fmt::format("<= {:.1f}x: {}", kMaxRatio, ratio <= kMaxRatio ? "met" : "MISSED"),
               median(extra), same ? "identical" : "DIFFERS");
    if (!same) return 1;
  }
  fmt::print("\nextra attempts: task attempts of the faulty run beyond the fault-free run's (lost ones,\n"
             "and map tasks run again to replace the outputs the killed executor held).\n");
  fs::remove_all(tmp);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spate::serve_if_executor(argc, argv);  // local-cluster runs this program as its executors
  if (argc > 1 && std::string(argv[1]) == "sort") {
    try {
      spate::Context ctx(argc, argv);
      return sort_job(ctx);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "spate-bench-recovery sort: %s\n", e.what());
      return 1;
    }
  }
  if (spate::help_requested(argc, argv)) {
    // Its sort job runs in a process of its own, whose Context reads spate's flags.
    std::printf("%s\n%s", kUsage, std::string(spate::context_flags_help()).c_str());
    return 0;
  }
  return harness(argc, argv);
}
