// spate-bench-shuffle: what a shuffle costs beyond its bytes, in local mode and with executor
// processes, in one run:
//   1. Spark's "collect large number of empty partitions": parallelize(0..9, MAPS)
//      .repartition(REDUCERS).collect(), whose MAPS x REDUCERS buckets are almost all empty
//      (issue 13's target: local-cluster[3] within 3x of local[2]);
//   2. the driver's cost per task: a count() over TASKS empty partitions, as tasks per second.
// Each job runs REPEAT times after a warm-up job; the table shows the median.
//
//   spate-bench-shuffle [--maps N] [--reducers N] [--tasks N] [--masters LIST] [--repeat R]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-bench-shuffle [--maps N] [--reducers N] [--tasks N] [--masters LIST] [--repeat R]\n"
    "Times parallelize(0..9, MAPS).repartition(REDUCERS).collect() and count() over TASKS empty\n"
    "partitions under each master, and prints the ratios to the first master.\n"
    "  --maps N        map partitions of the empty-partition job (default 1000)\n"
    "  --reducers N    its reduce partitions (default 2001)\n"
    "  --tasks N       empty partitions of the task-rate job (default 10000)\n"
    "  --masters LIST  comma-separated masters (default local[2],local-cluster[2],local-cluster[3])\n"
    "  --repeat R      runs of each job; the table shows the median (default 3)\n";

struct UsageError {
  std::string message;
};

struct Options {
  std::size_t maps = 1000, reducers = 2001, tasks = 10000;
  std::vector<std::string> masters = {"local[2]", "local-cluster[2]", "local-cluster[3]"};
  int repeat = 3;
};

std::size_t positive(std::string_view flag, std::string_view text) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v == 0)
    throw UsageError{fmt::format("{} needs a whole number of 1 or more, not '{}'", flag, text)};
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  const std::initializer_list<std::string_view> flags = {"--maps", "--reducers", "--tasks", "--masters",
                                                         "--repeat"};
  for (int i = 1; i < argc; i += 2) {
    std::string_view flag = argv[i];
    if (std::find(flags.begin(), flags.end(), flag) == flags.end())
      throw UsageError{spate::unknown_argument(flag, flags)};
    if (i + 1 >= argc) throw UsageError{fmt::format("{} needs a value", flag)};
    std::string_view value = argv[i + 1];
    if (flag == "--maps") o.maps = positive(flag, value);
    else if (flag == "--reducers") o.reducers = positive(flag, value);
    else if (flag == "--tasks") o.tasks = positive(flag, value);
    else if (flag == "--repeat") o.repeat = static_cast<int>(positive(flag, value));
    else {
      o.masters.clear();
      for (std::size_t start = 0; start <= value.size();) {
        std::size_t comma = std::min(value.find(',', start), value.size());
        if (comma > start) o.masters.emplace_back(value.substr(start, comma - start));
        start = comma + 1;
      }
      if (o.masters.empty()) throw UsageError{"--masters names no master"};
    }
  }
  return o;
}

template <class F>
double median_seconds(int repeat, F&& job) {
  job();  // warm-up: executors connected, code paged in
  std::vector<double> runs;
  for (int i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    job();
    runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

struct Row {
  std::string master;
  double empty_s = 0;
  double tasks_per_s = 0;
};

Row measure(const Options& o, const std::string& master) {
  spate::Options so;
  so.master = master;
  so.ui = false;
  so.progress = false;
  spate::Context ctx(so);
  std::vector<int> ten(10);
  std::iota(ten.begin(), ten.end(), 0);
  Row r{master};
  r.empty_s = median_seconds(o.repeat, [&] {
    auto got = ctx.parallelize(ten, o.maps).repartition(o.reducers).collect();
    std::sort(got.begin(), got.end());
    if (got != ten) throw std::runtime_error("the empty-partition job lost or invented records");
  });
  double tasks_s = median_seconds(o.repeat, [&] {
    if (ctx.parallelize(std::vector<int>{}, o.tasks).count() != 0)
      throw std::runtime_error("count() over empty partitions is not 0");
  });
  r.tasks_per_s = static_cast<double>(o.tasks) / tasks_s;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  spate::serve_if_executor(argc, argv);  // local-cluster runs this program as its executors
  if (spate::help_requested(argc, argv)) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  try {
    Options o = parse(argc, argv);
    fmt::print("parallelize(0..9, {}).repartition({}).collect(), and count() over {} empty partitions;\n"
               "median of {} runs after a warm-up\n\n",
               o.maps, o.reducers, o.tasks, o.repeat);
    fmt::print("{:<20} {:>14} {:>10} {:>16} {:>10}\n", "master", "empty job s", "ratio", "empty tasks/s",
               "ratio");
    std::vector<Row> rows;
    for (const auto& m : o.masters) {
      rows.push_back(measure(o, m));
      const Row& r = rows.back();
      fmt::print("{:<20} {:>14.3f} {:>9.2f}x {:>16.0f} {:>9.2f}x\n", r.master, r.empty_s,
                 r.empty_s / rows.front().empty_s, r.tasks_per_s, r.tasks_per_s / rows.front().tasks_per_s);
      std::fflush(stdout);
    }
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-shuffle", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-bench-shuffle: %s\n", e.what());
    return 1;
  }
}
