// spate-bench-speculation: what speculative execution buys when one executor is slowed for
// real. A CPU-heavy job runs on local-cluster executors, first with all of them at full speed
// (the baseline), then with one executor's CPU throttled through its cgroup to a tenth of a core
// (cgroup v1 cpu.cfs_quota_us or v2 cpu.max; needs root), once with --speculation and once
// without. With speculation, tasks stuck on the slow executor get copies elsewhere once 75% of
// the stage has finished, so the job should take at most about 1.5 times the fault-free time;
// without, it waits for the slow executor's tasks. Every count is checked; the program exits
// with 1 when one is wrong, and with 2 when it cannot throttle (not root, no cpu controller).
//
//   spate-bench-speculation [--executors N] [--partitions P] [--work W] [--repeat R]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include "bench_support.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: spate-bench-speculation [--executors N] [--partitions P] [--work W] [--repeat R]\n"
    "Times a CPU-heavy count on local-cluster[N] executors at full speed, then with one executor\n"
    "throttled to a tenth of a core through its cgroup, with and without --speculation (needs\n"
    "root and a cpu cgroup controller).\n"
    "  --executors N   executors of one core each (default 3)\n"
    "  --partitions P  tasks of the job (default 24)\n"
    "  --work W        hash rounds per record; 1000 records a partition (default 100000, about\n"
    "                  0.1 s a task at full speed)\n"
    "  --repeat R      runs of each case; the median is shown (default 3)\n";

struct Options {
  std::size_t executors = 3, partitions = 24;
  std::uint64_t work = 100'000;
  int repeat = 3;
};

using spate_bench::median;
using spate_bench::UsageError;

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    std::string_view flag = args[i];
    if (i + 1 >= args.size()) throw UsageError{fmt::format("{}: needs a value, or is not a flag", flag)};
    std::uint64_t v = spate_bench::whole_number(flag, args[i + 1]);
    if (flag == "--executors") o.executors = v;
    else if (flag == "--partitions") o.partitions = v;
    else if (flag == "--work") o.work = v;
    else if (flag == "--repeat") o.repeat = static_cast<int>(v);
    else throw UsageError{fmt::format("unknown argument '{}'", flag)};
  }
  return o;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw std::runtime_error(fmt::format("cannot write '{}' to {}", text, path.string()));
}

// A cgroup whose CPU is capped at a tenth of one core; the processes moved into it go back to
// the root group, and the group is removed, when it is destroyed.
class ThrottledGroup {
 public:
  ThrottledGroup() {
    std::string name = fmt::format("spate-bench-speculation-{}", ::getpid());
    if (fs::exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) {  // cgroup v1
      root_ = "/sys/fs/cgroup/cpu";
      dir_ = root_ / name;
      fs::create_directory(dir_);
      write_file(dir_ / "cpu.cfs_period_us", "100000");
      write_file(dir_ / "cpu.cfs_quota_us", "10000");
    } else if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {  // cgroup v2
      root_ = "/sys/fs/cgroup";
      write_file(root_ / "cgroup.subtree_control", "+cpu");
      dir_ = root_ / name;
      fs::create_directory(dir_);
      write_file(dir_ / "cpu.max", "10000 100000");
    } else {
      throw std::runtime_error("no cpu cgroup controller under /sys/fs/cgroup");
    }
  }
  ~ThrottledGroup() {
    for (int pid : pids_) {
      try {
        write_file(root_ / "cgroup.procs", std::to_string(pid));
      } catch (const std::exception&) {
        // The process is gone: nothing to move.
      }
    }
    std::error_code ec;
    for (int i = 0; i < 50 && !fs::remove(dir_, ec); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ThrottledGroup(const ThrottledGroup&) = delete;
  ThrottledGroup& operator=(const ThrottledGroup&) = delete;

  /// Moves process `pid`, every thread of it, into the group.
  void add(int pid) {
    write_file(dir_ / "cgroup.procs", std::to_string(pid));
    pids_.push_back(pid);
  }

 private:
  fs::path root_, dir_;
  std::vector<int> pids_;
};

// A count whose every record costs `work` rounds of a hash: CPU-bound tasks of equal length.
double timed_count(spate::Context& ctx, const Options& o, bool& ok) {
  std::vector<std::uint64_t> seeds(o.partitions * 1000);
  for (std::size_t i = 0; i < seeds.size(); ++i) seeds[i] = i;
  std::uint64_t work = o.work;
  auto start = std::chrono::steady_clock::now();
  auto n = ctx.parallelize(seeds, o.partitions)
               .map([work](std::uint64_t x) {
                 for (std::uint64_t i = 0; i < work; ++i) x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ULL + i;
                 return x;
               })
               .filter([](std::uint64_t x) { return x != 1; })
               .count();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (n != seeds.size()) {
    fmt::print("WRONG: counted {} records, expected {}\n", n, seeds.size());
    ok = false;
  }
  return seconds;
}

// Runs the job `repeat` times on a fresh local-cluster, after throttling one executor when asked.
double run_case(const Options& o, bool speculation, bool throttle, bool& ok) {
  spate::Options so;
  so.master = fmt::format("local-cluster[{}]", o.executors);
  so.speculation = speculation;
  so.ui = false;
  so.progress = false;
  spate::Context ctx(so);
  timed_count(ctx, o, ok);  // executors started and warm
  std::optional<ThrottledGroup> group;
  if (throttle) {
    group.emplace();
    group->add(static_cast<int>(ctx.engine()->executors().front().pid));
  }
  std::vector<double> times;
  for (int r = 0; r < o.repeat; ++r) times.push_back(timed_count(ctx, o, ok));
  return median(times);
}

}  // namespace

int main(int argc, char** argv) {
  spate::serve_if_executor(argc, argv);  // local-cluster runs this program as its executors
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    std::vector<std::string> args(argv, argv + argc);
    Options o = parse(args);
    bool ok = true;
    fmt::print("spate-bench-speculation: local-cluster[{}], {} tasks of {} hash rounds x 1000 records, median of {}\n",
               o.executors, o.partitions, o.work, o.repeat);
    double fault_free = run_case(o, true, false, ok);
    fmt::print("  all executors at full speed, --speculation:      {:6.2f} s (baseline)\n", fault_free);
    double with = run_case(o, true, true, ok);
    fmt::print("  one executor at 1/10 of a core, --speculation:   {:6.2f} s ({:.2f}x)\n", with, with / fault_free);
    double without = run_case(o, false, true, ok);
    fmt::print("  one executor at 1/10 of a core, no speculation:  {:6.2f} s ({:.2f}x)\n", without, without / fault_free);
    return ok ? 0 : 1;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-speculation", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-bench-speculation: %s\n", e.what());
    return 2;
  }
}
