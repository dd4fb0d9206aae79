// spate-bench-pagerank: Spark's PageRank example over a generated graph, for what an iterative
// job costs in memory as its lineage grows. Each iteration joins the cached links with the ranks
// and reduces the contributions by page, so iteration i's ranks depend on every shuffle before
// them. The program runs itself twice, for SHORT and for LONG iterations, each run a process of
// its own whose peak RSS the kernel reports (wait4), and prints the ratio: a driver that frees
// or moves out of memory what no job needs keeps it near 1. With --checkpoint-every K the job
// cuts its lineage every K iterations (local_checkpoint(), or checkpoint() with --reliable).
// The baseline is a single-threaded PageRank over the same graph in flat arrays (CSR), timed for
// LONG iterations; every spate run's ranks must match it (relative error 1e-9), or the program
// exits with 1.
//
//   spate-bench-pagerank [--master M] [--pages N] [--degree D] [--short S] [--long L]
//                        [--checkpoint-every K] [--reliable]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include "bench_support.hpp"

#include <fmt/core.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-bench-pagerank [--master M] [--pages N] [--degree D] [--short S] [--long L]\n"
    "                            [--checkpoint-every K] [--reliable] [spate flags]\n"
    "Runs Spark's PageRank example for S and for L iterations, each in a process of its own, and\n"
    "prints their peak RSS and its ratio; times a single-threaded PageRank over flat arrays for L\n"
    "iterations as the baseline, and checks every run's ranks against it.\n"
    "  --pages N             pages of the generated graph (default 200000)\n"
    "  --degree D            links out of each page (default 8)\n"
    "  --short S, --long L   iterations of the two runs (default 10 and 50)\n"
    "  --checkpoint-every K  cut the lineage every K iterations (default 0: never)\n"
    "  --reliable            cut with checkpoint() into a temporary directory, not local_checkpoint()\n";

struct Options {
  std::uint32_t pages = 200'000;
  std::uint32_t degree = 8;
  int short_run = 10, long_run = 50;
  int checkpoint_every = 0;
  bool reliable = false;
  int iterations = 0;  // set in a child run: run this many and print the ranks
};

using spate_bench::UsageError;

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "--reliable") {
      o.reliable = true;
      continue;
    }
    if (i + 1 >= args.size()) throw UsageError{fmt::format("{}: needs a value, or is not a flag", flag)};
    std::uint64_t v = spate_bench::whole_number(flag, args[++i], flag == "--checkpoint-every" ? 0 : 1);
    if (flag == "--pages") o.pages = static_cast<std::uint32_t>(v);
    else if (flag == "--degree") o.degree = static_cast<std::uint32_t>(v);
    else if (flag == "--short") o.short_run = static_cast<int>(v);
    else if (flag == "--long") o.long_run = static_cast<int>(v);
    else if (flag == "--checkpoint-every") o.checkpoint_every = static_cast<int>(v);
    else if (flag == "--iterations") o.iterations = static_cast<int>(v);
    else throw UsageError{fmt::format("unknown argument '{}'", flag)};
  }
  return o;
}

// The j-th link out of page `from`: a fixed pseudo-random page (splitmix64), so that every run
// and the baseline build the same graph.
std::uint32_t target(std::uint32_t from, std::uint32_t j, std::uint32_t degree, std::uint32_t pages) {
  std::uint64_t z = (static_cast<std::uint64_t>(from) * degree + j) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<std::uint32_t>(z % pages);
}

using Ranks = std::vector<std::pair<std::uint32_t, double>>;  // by page; pages with no rank left out

// Spark's PageRank: a page's contributions go to its links; a page no link reaches drops out.
Ranks spate_pagerank(spate::Context& ctx, const Options& o, int iterations) {
  std::uint32_t pages = o.pages, degree = o.degree;
  std::vector<std::uint32_t> ids(pages);
  for (std::uint32_t i = 0; i < pages; ++i) ids[i] = i;
  auto links = ctx.parallelize(ids)
                   .flat_map([pages, degree](std::uint32_t from) {
                     std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
                     for (std::uint32_t j = 0; j < degree; ++j) out.emplace_back(from, target(from, j, degree, pages));
                     return out;
                   })
                   .group_by_key()
                   .cache();
  // As Spark's example: only the links are cached; each iteration reads the last one's shuffle.
  spate::Dataset<std::pair<std::uint32_t, double>> ranks =
      links.map_values([](const std::vector<std::uint32_t>&) { return 1.0; });
  for (int i = 1; i <= iterations; ++i) {
    auto contribs = links.join(ranks).flat_map([](const auto& kv) {
      const auto& [to, rank] = kv.second;
      std::vector<std::pair<std::uint32_t, double>> out;
      out.reserve(to.size());
      for (auto t : to) out.emplace_back(t, rank / static_cast<double>(to.size()));
      return out;
    });
    ranks = contribs.reduce_by_key(std::plus<>{}).map_values([](double s) { return 0.15 + 0.85 * s; });
    if (o.checkpoint_every > 0 && i % o.checkpoint_every == 0)
      ranks = o.reliable ? ranks.checkpoint() : ranks.local_checkpoint();
  }
  auto out = ranks.collect();
  std::sort(out.begin(), out.end());
  return out;
}

// The baseline: the same iterations over flat arrays, one thread.
Ranks handwritten_pagerank(const Options& o, int iterations) {
  std::uint32_t n = o.pages, d = o.degree;
  std::vector<std::uint32_t> to(static_cast<std::size_t>(n) * d);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t j = 0; j < d; ++j) to[static_cast<std::size_t>(i) * d + j] = target(i, j, d, n);
  std::vector<double> rank(n, 1.0), sum(n);
  std::vector<char> has(n, 1), reached(n);
  for (int it = 0; it < iterations; ++it) {
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(reached.begin(), reached.end(), 0);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (!has[i]) continue;
      double c = rank[i] / d;
      for (std::size_t k = static_cast<std::size_t>(i) * d, e = k + d; k < e; ++k) {
        sum[to[k]] += c;
        reached[to[k]] = 1;
      }
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      has[i] = reached[i];
      rank[i] = 0.15 + 0.85 * sum[i];
    }
  }
  Ranks out;
  for (std::uint32_t i = 0; i < n; ++i)
    if (has[i]) out.emplace_back(i, rank[i]);
  return out;
}

// Where two rank lists differ (by page set, or by more than 1e-9 relative), or "".
std::string difference(const Ranks& got, const Ranks& want) {
  if (got.size() != want.size()) return fmt::format("{} ranked pages, expected {}", got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].first != want[i].first) return fmt::format("page {} ranked, expected page {}", got[i].first, want[i].first);
    double tol = 1e-9 * std::max(1.0, std::abs(want[i].second));
    if (std::abs(got[i].second - want[i].second) > tol)
      return fmt::format("page {}: rank {}, expected {}", got[i].first, got[i].second, want[i].second);
  }
  return "";
}

// The ranks as a child prints them, a "page rank" line each, and as the parent reads them back.
std::string print_ranks(const Ranks& r) {
  std::string out;
  for (const auto& [p, x] : r) out += fmt::format("{} {:.17g}\n", p, x);
  return out;
}

Ranks read_ranks(const std::string& text) {
  Ranks out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    out.emplace_back(static_cast<std::uint32_t>(std::stoul(line.substr(0, space))), std::stod(line.substr(space + 1)));
  }
  return out;
}

struct ChildRun {
  bool ok = false;
  double seconds = 0;
  long peak_kib = 0;
  std::string output;
};

// Runs this program again with `args`, capturing its stdout; its peak RSS from wait4.
ChildRun run_child(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  ChildRun r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) r.output.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.peak_kib = usage.ru_maxrss;
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
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
    if (o.iterations > 0) {  // a child run
      std::filesystem::path dir;
      if (o.reliable) {
        dir = std::filesystem::temp_directory_path() / fmt::format("spate-bench-pagerank-{}", ::getpid());
        ctx.set_checkpoint_dir(dir.string());
      }
      auto ranks = spate_pagerank(ctx, o, o.iterations);
      if (!dir.empty()) std::filesystem::remove_all(dir);
      std::fputs(print_ranks(ranks).c_str(), stdout);
      return 0;
    }
    std::vector<std::string> base{argv[0], "--master", ctx.master(), "--no-ui", "--no-progress",
                                  "--pages", std::to_string(o.pages), "--degree", std::to_string(o.degree),
                                  "--checkpoint-every", std::to_string(o.checkpoint_every)};
    if (o.reliable) base.push_back("--reliable");
    fmt::print("PageRank over {} pages, {} links each, master {}, cut every {} iterations{}\n", o.pages, o.degree,
               ctx.master(), o.checkpoint_every, o.checkpoint_every ? (o.reliable ? " (checkpoint)" : " (local_checkpoint)") : " (never)");
    bool ok = true;
    std::map<int, ChildRun> runs;
    for (int iterations : {o.short_run, o.long_run}) {
      auto args = base;
      args.push_back("--iterations");
      args.push_back(std::to_string(iterations));
      auto r = run_child(args);
      auto start = std::chrono::steady_clock::now();
      auto want = handwritten_pagerank(o, iterations);
      double baseline = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string wrong = r.ok ? difference(read_ranks(r.output), want) : "the run failed";
      if (!wrong.empty()) {
        fmt::print("  {} iterations: WRONG: {}\n", iterations, wrong);
        ok = false;
      }
      fmt::print("  {:3} iterations: spate {:6.2f} s (the process, start included), peak RSS {:6.1f} MiB; "
                 "handwritten {:6.2f} s ({:.1f}x)\n",
                 iterations, r.seconds, r.peak_kib / 1024.0, baseline, r.seconds / baseline);
      runs[iterations] = r;
    }
    if (o.short_run != o.long_run)
      fmt::print("peak RSS {} iterations / {} iterations: {:.2f}x\n", o.long_run, o.short_run,
                 static_cast<double>(runs[o.long_run].peak_kib) / static_cast<double>(runs[o.short_run].peak_kib));
    return ok ? 0 : 1;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-pagerank", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "spate-bench-pagerank: {}\n", e.what());
    return 1;
  }
}
