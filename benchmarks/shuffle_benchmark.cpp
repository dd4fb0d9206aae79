// spate-bench-shuffle: what a shuffle costs beyond its bytes, in local mode and with executor
// processes, in one run:
//   1. Spark's "collect large number of empty partitions": parallelize(0..9, MAPS)
//      .repartition(REDUCERS).collect(), whose MAPS x REDUCERS buckets are almost all empty
//      (issue 13's target: local-cluster[3] within 3x of local[2]);
//   2. the driver's cost per task: a count() over TASKS empty partitions, as tasks per second;
//   3. a sort_by_key of SORT_MB megabytes of 100-byte records (an 8-byte key, a 92-byte value
//      that LZ4 cannot shrink, as TeraSort's), 200 map x 200 reduce partitions (issue 13's
//      target: local-cluster[2] within 1.3x of local[2]).
// Jobs 1 and 2 run REPEAT times after a warm-up job, the sort SORT_REPEAT times after them;
// the table shows the median.
//
//   spate-bench-shuffle [--maps N] [--reducers N] [--tasks N] [--sort-mb N] [--sort-repeat R]
//                       [--masters LIST] [--repeat R]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-bench-shuffle [--maps N] [--reducers N] [--tasks N] [--sort-mb N] [--sort-repeat R]\n"
    "                           [--masters LIST] [--repeat R]\n"
    "Times parallelize(0..9, MAPS).repartition(REDUCERS).collect(), count() over TASKS empty\n"
    "partitions and a 200 x 200-partition sort_by_key of SORT_MB megabytes under each master, and\n"
    "prints the ratios to the first master.\n"
    "  --maps N          map partitions of the empty-partition job (default 1000)\n"
    "  --reducers N      its reduce partitions (default 2001)\n"
    "  --tasks N         empty partitions of the task-rate job (default 10000)\n"
    "  --sort-mb N       megabytes of 100-byte records the sort job sorts (default 2048; 0 skips it)\n"
    "  --sort-repeat R   runs of the sort job (default 1)\n"
    "  --masters LIST    comma-separated masters (default local[2],local-cluster[2],local-cluster[3]);\n"
    "                    MASTER/plain runs MASTER with SPATE_WIRE_ENCRYPTION=off\n"
    "  --repeat R        runs of the other jobs; the table shows the median (default 3)\n";

struct UsageError {
  std::string message;
};

struct Options {
  std::size_t maps = 1000, reducers = 2001, tasks = 10000, sort_mb = 2048;
  int sort_repeat = 1;
  std::vector<std::string> masters = {"local[2]", "local-cluster[2]", "local-cluster[3]"};
  int repeat = 3;
};

std::size_t whole(std::string_view flag, std::string_view text, std::size_t least) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < least)
    throw UsageError{fmt::format("{} needs a whole number of {} or more, not '{}'", flag, least, text)};
  return v;
}

std::size_t positive(std::string_view flag, std::string_view text) { return whole(flag, text, 1); }

Options parse(int argc, char** argv) {
  Options o;
  const std::initializer_list<std::string_view> flags = {"--maps",    "--reducers",    "--tasks", "--sort-mb",
                                                         "--sort-repeat", "--masters", "--repeat"};
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
    else if (flag == "--sort-mb") o.sort_mb = whole(flag, value, 0);
    else if (flag == "--sort-repeat") o.sort_repeat = static_cast<int>(positive(flag, value));
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
double median_seconds(int repeat, F&& job, bool warm_up = true) {
  if (warm_up) job();  // executors connected, code paged in
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
  double sort_s = 0;
};

constexpr std::size_t kSortPartitions = 200;
constexpr std::size_t kValueBytes = 92;

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Sorts sort_mb megabytes of generated records and checks the order across partitions; what a
// reduce partition hands back is one line of summary, so the driver holds no data.
void sort_job(spate::Context& ctx, std::size_t sort_mb) {
  using Record = std::pair<std::uint64_t, std::string>;
  const std::uint64_t per_partition = sort_mb * 1'000'000 / 100 / kSortPartitions;
  std::vector<std::uint64_t> parts(kSortPartitions);
  std::iota(parts.begin(), parts.end(), 0);
  // (partition, records, first key, last key, sorted within)
  using Summary = std::tuple<std::size_t, std::uint64_t, std::uint64_t, std::uint64_t, bool>;
  auto summaries = ctx.parallelize(parts, kSortPartitions)
                       .flat_map<Record>([per_partition](std::uint64_t part, auto& emit) {
                         std::uint64_t state = part * 0x100000001b3ull + 1;
                         for (std::uint64_t i = 0; i < per_partition; ++i) {
                           std::uint64_t key = splitmix(state);
                           std::string value(kValueBytes, '\0');
                           for (std::size_t at = 0; at + 8 <= kValueBytes; at += 8) {
                             std::uint64_t x = splitmix(state);
                             std::memcpy(value.data() + at, &x, 8);
                           }
                           emit(Record(key, std::move(value)));
                         }
                       })
                       .sort_by_key(true, kSortPartitions)
                       .map_partitions([](std::size_t index, std::vector<Record> records) {
                         bool in_order = std::is_sorted(records.begin(), records.end(),
                                                        [](const Record& a, const Record& b) { return a.first < b.first; });
                         std::uint64_t first = records.empty() ? 0 : records.front().first;
                         std::uint64_t last = records.empty() ? 0 : records.back().first;
                         return std::vector<Summary>{Summary(index, records.size(), first, last, in_order)};
                       })
                       .collect();
  std::sort(summaries.begin(), summaries.end());
  std::uint64_t total = 0, previous = 0;
  for (const auto& [index, n, first, last, in_order] : summaries) {
    if (!in_order || (n > 0 && first < previous)) throw std::runtime_error("the sort job's output is out of order");
    if (n > 0) previous = last;
    total += n;
  }
  if (total != per_partition * kSortPartitions) throw std::runtime_error("the sort job lost or invented records");
}

Row measure(const Options& o, const std::string& label) {
  // MASTER/plain: the same master with SPATE_WIRE_ENCRYPTION=off, set for the Context's life (its
  // servers and the executors it starts read it as they start).
  std::string master = label;
  const bool plain = master.ends_with("/plain");
  if (plain) master.resize(master.size() - 6);
  if (plain) ::setenv("SPATE_WIRE_ENCRYPTION", "off", 1);
  struct Restore {
    bool plain;
    ~Restore() {
      if (plain) ::unsetenv("SPATE_WIRE_ENCRYPTION");
    }
  } restore{plain};
  spate::Options so;
  so.master = master;
  so.ui = false;
  so.progress = false;
  spate::Context ctx(so);
  std::vector<int> ten(10);
  std::iota(ten.begin(), ten.end(), 0);
  Row r{label};
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
  if (o.sort_mb > 0) r.sort_s = median_seconds(o.sort_repeat, [&] { sort_job(ctx, o.sort_mb); }, false);
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
    fmt::print("parallelize(0..9, {}).repartition({}).collect(), and count() over {} empty partitions:\n"
               "median of {} runs after a warm-up; sort_by_key of {} MB, 200 x 200 partitions: median of {}\n\n",
               o.maps, o.reducers, o.tasks, o.repeat, o.sort_mb, o.sort_repeat);
    fmt::print("{:<20} {:>14} {:>10} {:>16} {:>10} {:>10} {:>10}\n", "master", "empty job s", "ratio",
               "empty tasks/s", "ratio", "sort s", "ratio");
    std::vector<Row> rows;
    for (const auto& m : o.masters) {
      rows.push_back(measure(o, m));
      const Row& r = rows.back();
      fmt::print("{:<20} {:>14.3f} {:>9.2f}x {:>16.0f} {:>9.2f}x {:>10.2f} {:>9.2f}x\n", r.master, r.empty_s,
                 r.empty_s / rows.front().empty_s, r.tasks_per_s, r.tasks_per_s / rows.front().tasks_per_s,
                 r.sort_s, o.sort_mb > 0 ? r.sort_s / rows.front().sort_s : 0.0);
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
