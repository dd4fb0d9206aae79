// spate-bench-scheduler: what the driver's scheduler costs and how well it keeps the task slots
// busy, under whichever master the Context is given. Three figures, each against a baseline
// measured in the same run: (1) the driver's cost per task, as count() over TASKS one-record
// partitions in tasks per second, since a job of many cheap tasks is all scheduling; (2) a join
// of two inputs of one partition each, each behind a CPU-heavy map: run as one job, the two map
// stages are independent and could share the slots, so it is timed against building each side's
// shuffle in a job of its own and then joining (stages are identified by their shuffle, so the
// last job reuses both outputs), and a scheduler that runs independent stages together should
// take about half that; (3) THREADS host threads each running JOBS small reduce_by_key jobs at
// once against the same jobs one after another on one thread, since a Context is shared by
// threads and jobs that leave slots idle should let the others use them; (4) a job whose tasks
// would run for minutes, cancelled: how long until get() throws job_cancelled and until every
// slot has run a new task (the target is under a second). Every result is checked; the program
// exits with 1 when one is wrong.
//
//   spate-bench-scheduler [--master M] [--tasks N] [--repeat R] [--join-rows N] [--threads T]
//                         [--jobs M] [--job-rows N]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include "bench_support.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-bench-scheduler [--master M] [--tasks N] [--repeat R] [--join-rows N]\n"
    "                             [--threads T] [--jobs M] [--job-rows N] [spate flags]\n"
    "Times, under the master given: count() over TASKS one-record partitions (tasks per second);\n"
    "a join of two one-partition inputs behind a CPU-heavy map, as one job against each side's\n"
    "shuffle forced by a job of its own first; THREADS threads each running JOBS reduce_by_key\n"
    "jobs against the same jobs run one after another; how fast a cancelled job's tasks stop.\n"
    "Checks every result.\n"
    "  --tasks N      partitions of the task-rate job (default 2000)\n"
    "  --repeat R     runs of each measurement: best and median of the task rate, median of the\n"
    "                 others (default 3)\n"
    "  --join-rows N  rows each side of the join computes (default 125000, about 1 s of work)\n"
    "  --threads T    threads submitting jobs at once (default 4)\n"
    "  --jobs M       jobs each of them runs (default 8)\n"
    "  --job-rows N   integers each of those jobs reduces (default 200000)\n";

using spate_bench::median;
using spate_bench::UsageError;

struct Options {
  std::size_t tasks = 2000;
  int repeat = 3;
  std::uint64_t join_rows = 125'000;
  std::size_t threads = 4, jobs = 8;
  std::uint64_t job_rows = 200'000;
};


// args[0] is the program; Context has taken its own flags out already.
Options parse(const std::vector<std::string>& args) {
  Options o;
  const std::initializer_list<std::string_view> flags = {"--tasks",   "--repeat", "--join-rows", "--threads",
                                                         "--jobs",    "--job-rows"};
  for (std::size_t i = 1; i < args.size(); i += 2) {
    std::string_view flag = args[i];
    if (std::find(flags.begin(), flags.end(), flag) == flags.end())
      throw UsageError{spate::unknown_argument(flag, flags)};
    if (i + 1 >= args.size()) throw UsageError{fmt::format("{} needs a value", flag)};
    std::uint64_t v = spate_bench::whole_number(flag, args[i + 1]);
    if (flag == "--tasks") o.tasks = v;
    else if (flag == "--repeat") o.repeat = static_cast<int>(v);
    else if (flag == "--join-rows") o.join_rows = v;
    else if (flag == "--threads") o.threads = v;
    else if (flag == "--jobs") o.jobs = v;
    else o.job_rows = v;
  }
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class F>
double timed(F&& f) {
  auto start = std::chrono::steady_clock::now();
  f();
  return seconds_since(start);
}


constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

constexpr std::string_view kRowFormat = "{:<40} {:>10} {:<8} {}\n";

void print_figure(std::string_view figure, double value, int decimals, std::string_view unit,
                  std::string_view versus = "") {
  fmt::print(kRowFormat, figure, fmt::format("{:.{}f}", value, decimals), unit, versus);
  std::fflush(stdout);
}

// A heading line per measurement, so the figures' labels stay short enough for one column.
void print_heading(std::string_view text) { fmt::print("# {}\n", text); }

// ---- 1. per-task overhead ----

void task_rate(const spate::Context& ctx, const Options& o) {
  // One record per partition rather than none, so every task reads and counts something.
  auto job = [&] {
    std::size_t n = ctx.parallelize(std::vector<int>(o.tasks), o.tasks).count();
    check(n == o.tasks, fmt::format("count() over {} one-record partitions gave {}", o.tasks, n));
  };
  job();  // executors connected, code paged in
  std::vector<double> runs;
  for (int r = 0; r < o.repeat; ++r) runs.push_back(timed(job));
  double n = static_cast<double>(o.tasks);
  print_heading(fmt::format("1. count() over {} one-record partitions, {} runs after a warm-up", o.tasks, o.repeat));
  print_figure("empty tasks, best run", n / *std::min_element(runs.begin(), runs.end()), 0, "tasks/s");
  print_figure("empty tasks, median run", n / median(runs), 0, "tasks/s");
}

// ---- 2. concurrent stages ----

using Row = std::pair<std::uint64_t, std::uint64_t>;

// Enough dependent multiplies per row that a side's map task is CPU time, not shuffle bytes.
constexpr int kRoundsPerRow = 2000;

// One side of the join: a single partition that computes `rows` keyed rows from `first_key` on,
// hash-partitioned into `partitions`, so the join of two sides reads both shuffles narrowly.
spate::Dataset<Row> join_side(const spate::Context& ctx, std::uint64_t rows, std::uint64_t first_key,
                              std::uint64_t salt, std::size_t partitions) {
  return ctx.parallelize(std::vector<std::uint64_t>{first_key}, 1)
      .flat_map<Row>([rows, salt](std::uint64_t first, auto& emit) {
        for (std::uint64_t k = first; k < first + rows; ++k) {
          std::uint64_t h = k ^ salt;
          for (int i = 0; i < kRoundsPerRow; ++i) h = mix(h);
          emit(Row{k, h});
        }
      })
      .partition_by(spate::HashPartitioner(partitions));
}

struct JoinResult {
  std::uint64_t rows = 0, checksum = 0;
  bool operator==(const JoinResult&) const = default;
};

JoinResult join_checksum(const spate::Dataset<Row>& a, const spate::Dataset<Row>& b) {
  auto got = a.join(b)
                 .map([](const auto& r) { return mix(r.first ^ mix(r.second.first) ^ (mix(r.second.second) << 1)); })
                 .aggregate(
                     std::pair<std::uint64_t, std::uint64_t>{0, 0},
                     [](std::pair<std::uint64_t, std::uint64_t> acc, std::uint64_t h) {
                       return std::pair<std::uint64_t, std::uint64_t>{acc.first + 1, acc.second + h};
                     },
                     [](std::pair<std::uint64_t, std::uint64_t> x, std::pair<std::uint64_t, std::uint64_t> y) {
                       return std::pair<std::uint64_t, std::uint64_t>{x.first + y.first, x.second + y.second};
                     });
  return {got.first, got.second};
}

void concurrent_stages(const spate::Context& ctx, const Options& o) {
  const std::size_t partitions = std::max<std::size_t>(2, ctx.default_parallelism());
  // Side B's keys start half-way through side A's, so the join keeps the second half of A.
  const std::uint64_t rows = o.join_rows, b_first = rows / 2, expected_rows = rows - rows / 2;
  constexpr std::uint64_t kSaltA = 0xa, kSaltB = 0xb;
  std::vector<double> side_a, side_b, joined, sequential, together;
  JoinResult first_result;
  for (int r = 0; r < o.repeat; ++r) {
    // Fresh datasets every time: a shuffle an earlier run wrote would be reused, not timed.
    auto a = join_side(ctx, rows, 0, kSaltA, partitions);
    auto b = join_side(ctx, rows, b_first, kSaltB, partitions);
    std::size_t na = 0, nb = 0;
    JoinResult seq, tog;
    side_a.push_back(timed([&] { na = a.count(); }));
    side_b.push_back(timed([&] { nb = b.count(); }));
    joined.push_back(timed([&] { seq = join_checksum(a, b); }));
    sequential.push_back(side_a.back() + side_b.back() + joined.back());
    check(na == rows && nb == rows, fmt::format("the join's sides have {} and {} rows, not {}", na, nb, rows));

    auto a2 = join_side(ctx, rows, 0, kSaltA, partitions);
    auto b2 = join_side(ctx, rows, b_first, kSaltB, partitions);
    together.push_back(timed([&] { tog = join_checksum(a2, b2); }));

    check(seq.rows == expected_rows,
          fmt::format("the join (sides forced first) gave {} rows, not {}", seq.rows, expected_rows));
    check(tog == seq, fmt::format("the join as one job gave {} rows, checksum {:016x}; with the sides forced "
                                  "first, {} rows, checksum {:016x}",
                                  tog.rows, tog.checksum, seq.rows, seq.checksum));
    if (r == 0) first_result = seq;
    check(seq == first_result, "the join's checksum changed between runs");
  }
  print_heading(fmt::format("2. join of two 1-partition inputs of {} rows ({} in common) into {} partitions, "
                            "median of {} runs",
                            rows, expected_rows, partitions, o.repeat));
  print_figure("join: side A's shuffle, count()", median(side_a), 3, "s");
  print_figure("join: side B's shuffle, count()", median(side_b), 3, "s");
  print_figure("join: the join, reusing both", median(joined), 3, "s");
  print_figure("join sequential (sum of the three)", median(sequential), 3, "s", "baseline");
  print_figure("join together (one job)", median(together), 3, "s",
               fmt::format("{:.2f}x sequential", median(together) / median(sequential)));
}

// ---- 3. many jobs ----

constexpr std::size_t kJobPartitions = 4;
constexpr std::uint64_t kJobKeys = 1000;

std::uint32_t job_key(std::uint64_t job, std::uint64_t i) {
  return static_cast<std::uint32_t>(mix(i ^ (job << 40)) % kJobKeys);
}
std::uint64_t job_value(std::uint64_t job, std::uint64_t i) { return i * (job + 1); }

using KeySum = std::pair<std::uint32_t, std::uint64_t>;

// What job `job` must give: every key it draws with its sum, in key order.
std::vector<KeySum> job_expected(std::uint64_t job, std::uint64_t rows) {
  std::vector<std::uint64_t> sum(kJobKeys);
  std::vector<bool> seen(kJobKeys);
  for (std::uint64_t i = 0; i < rows; ++i) {
    std::uint32_t k = job_key(job, i);
    sum[k] += job_value(job, i);
    seen[k] = true;
  }
  std::vector<KeySum> out;
  for (std::uint32_t k = 0; k < kJobKeys; ++k)
    if (seen[k]) out.emplace_back(k, sum[k]);
  return out;
}

// Generates its integers inside the tasks, so the driver's part is scheduling, not shipping data.
bool small_job(const spate::Context& ctx, std::uint64_t job, std::uint64_t rows, const std::vector<KeySum>& expected) {
  std::vector<std::uint64_t> parts(kJobPartitions);
  for (std::size_t p = 0; p < kJobPartitions; ++p) parts[p] = p;
  auto got = ctx.parallelize(parts, kJobPartitions)
                 .flat_map<KeySum>([job, rows](std::uint64_t p, auto& emit) {
                   for (std::uint64_t i = p * rows / kJobPartitions; i < (p + 1) * rows / kJobPartitions; ++i)
                     emit(KeySum{job_key(job, i), job_value(job, i)});
                 })
                 .reduce_by_key(std::plus<>{}, kJobPartitions)
                 .collect();
  std::sort(got.begin(), got.end());
  return got == expected;
}

void many_jobs(const spate::Context& ctx, const Options& o) {
  const std::size_t total = o.threads * o.jobs;
  std::vector<std::vector<KeySum>> expected;
  for (std::size_t j = 0; j < total; ++j) expected.push_back(job_expected(j, o.job_rows));
  auto fail = [](std::size_t j) { throw std::runtime_error(fmt::format("small job {} gave a wrong result", j)); };
  if (!small_job(ctx, 0, o.job_rows, expected[0])) fail(0);  // this job's code paged in

  std::vector<double> one_thread, threads;
  for (int r = 0; r < o.repeat; ++r) {
    one_thread.push_back(timed([&] {
      for (std::size_t j = 0; j < total; ++j)
        if (!small_job(ctx, j, o.job_rows, expected[j])) fail(j);
    }));

    std::vector<int> ok(total, 0);
    std::mutex errors_mutex;
    std::vector<std::string> errors;
    threads.push_back(timed([&] {
      std::vector<std::thread> pool;
      for (std::size_t t = 0; t < o.threads; ++t)
        pool.emplace_back([&, t] {
          try {
            for (std::size_t j = t * o.jobs; j < (t + 1) * o.jobs; ++j) ok[j] = small_job(ctx, j, o.job_rows, expected[j]);
          } catch (const std::exception& e) {
            std::lock_guard lock(errors_mutex);
            errors.emplace_back(e.what());
          }
        });
      for (auto& th : pool) th.join();
    }));
    if (!errors.empty()) throw std::runtime_error("a job on a host thread failed: " + errors.front());
    for (std::size_t j = 0; j < total; ++j)
      if (!ok[j]) fail(j);
  }
  print_heading(fmt::format("3. {} reduce_by_key jobs of {} ints in {} partitions, median of {} runs", total,
                            o.job_rows, kJobPartitions, o.repeat));
  print_figure(fmt::format("jobs: {} one after another", total), median(one_thread), 3, "s", "baseline");
  print_figure(fmt::format("jobs: {} threads x {} at once", o.threads, o.jobs), median(threads), 3, "s",
               fmt::format("{:.2f}x one thread", median(threads) / median(one_thread)));
}

// ---- 4. how fast a cancelled job lets go ----

void cancellation(const spate::Context& ctx, const Options& o) {
  // Every slot busy with a task of minutes (a million records of ~0.2 ms each), which checks
  // whether it is killed every 1024 records, about every 0.2 s.
  std::size_t slots = ctx.default_parallelism();
  std::vector<std::uint64_t> records(slots * 1'000'000);
  for (std::size_t i = 0; i < records.size(); ++i) records[i] = i;
  auto input = ctx.parallelize(records, slots);
  std::vector<double> to_error, to_free;
  for (int r = 0; r < o.repeat; ++r) {
    auto job = input
                   .map([](std::uint64_t x) {
                     for (int i = 0; i < 50'000; ++i) x = mix(x);
                     return x;
                   })
                   .count_async();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // every task running
    auto start = std::chrono::steady_clock::now();
    job.cancel();
    bool cancelled = false;
    try {
      job.get();
    } catch (const spate::job_cancelled&) {
      cancelled = true;
    }
    check(cancelled, "a cancelled job did not end with job_cancelled");
    to_error.push_back(seconds_since(start));
    // The slots are free once a job needing all of them at once runs.
    std::size_t n = ctx.parallelize(std::vector<int>(slots, 1), slots).count();
    check(n == slots, "the job after a cancelled one counted wrong");
    to_free.push_back(seconds_since(start));
  }
  print_heading(fmt::format("4. a job whose {} tasks each run for minutes, cancelled; median of {} runs", slots, o.repeat));
  print_figure("cancel: until get() throws", median(to_error) * 1000, 1, "ms");
  print_figure("cancel: until every slot ran a new task", median(to_free) * 1000, 1, "ms", "target < 1000 ms");
}

}  // namespace

int main(int argc, char** argv) {
  spate::serve_if_executor(argc, argv);  // local-cluster runs this program as its executors
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}{}", kUsage, spate::context_flags_help());
    return 0;
  }
  try {
    spate::Context ctx(argc, argv);
    Options o = parse(ctx.args());
    fmt::print("spate-bench-scheduler: master {}, {} task slots\n\n", ctx.master(), ctx.default_parallelism());
    fmt::print(kRowFormat, "figure", "value", "unit", "ratio");
    task_rate(ctx, o);
    concurrent_stages(ctx, o);
    many_jobs(ctx, o);
    cancellation(ctx, o);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-scheduler", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-bench-scheduler: %s\n", e.what());
    return 1;
  }
}
