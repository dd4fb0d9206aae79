// spate-bench-kmeans: K-means reading its centers per record through a broadcast against the same
// job capturing them in the function, in one run. A broadcast is how a Spark user ships a large
// read-only value once per executor, and K-means reads it for every point: value() must cost no
// more than the captured copy's pointer. Both are checked against a single-threaded K-means over
// flat arrays (the baseline, timed too): the centers after ITERATIONS rounds must agree to 1e-9,
// or the program exits with 1.
//
//   spate-bench-kmeans [--master M] [--points N] [--dims D] [--k K] [--iterations I] [--repeat R]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include "bench_support.hpp"

#include <boost/serialization/vector.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-bench-kmeans [--points N] [--dims D] [--k K] [--iterations I] [--repeat R] [spate flags]\n"
    "Times K-means whose tasks read the centers from a broadcast per point, against the same job\n"
    "capturing them, and a single-threaded K-means over flat arrays; checks all three agree.\n"
    "  --points N      points (default 1000000)\n"
    "  --dims D        coordinates per point (default 4)\n"
    "  --k K           centers (default 16)\n"
    "  --iterations I  rounds (default 5)\n"
    "  --repeat R      runs of each; the median is shown (default 3)\n";

struct Options {
  std::size_t points = 1'000'000, dims = 4, k = 16;
  int iterations = 5, repeat = 3;
};

using spate_bench::UsageError;

Options parse(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    std::string_view flag = args[i];
    if (i + 1 >= args.size()) throw UsageError{fmt::format("{} needs a value", flag)};
    std::uint64_t v = spate_bench::whole_number(flag, args[i + 1]);
    if (flag == "--points") o.points = v;
    else if (flag == "--dims") o.dims = v;
    else if (flag == "--k") o.k = v;
    else if (flag == "--iterations") o.iterations = static_cast<int>(v);
    else if (flag == "--repeat") o.repeat = static_cast<int>(v);
    else throw UsageError{spate::unknown_argument(flag, {"--points", "--dims", "--k", "--iterations", "--repeat"})};
  }
  return o;
}

using Point = std::vector<double>;
using Centers = std::vector<Point>;

// Coordinate d of point i: a fixed pseudo-random value in [0, 1000) (splitmix64).
double coordinate(std::uint64_t i, std::size_t d) {
  std::uint64_t z = i * 0x9e3779b97f4a7c15ULL + d + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z % 1'000'000) / 1000.0;
}

std::size_t nearest(const Point& p, const Centers& centers) {
  std::size_t best = 0;
  double best_d = std::numeric_limits<double>::max();
  for (std::size_t c = 0; c < centers.size(); ++c) {
    double d = 0;
    for (std::size_t j = 0; j < p.size(); ++j) {
      double x = p[j] - centers[c][j];
      d += x * x;
    }
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

// (sum of coordinates, count) per center, as reduce_by_key merges them.
using Sum = std::pair<Point, long>;

Sum add(Sum a, const Sum& b) {
  for (std::size_t j = 0; j < a.first.size(); ++j) a.first[j] += b.first[j];
  a.second += b.second;
  return a;
}

Centers next_centers(const Centers& old, std::vector<std::pair<std::size_t, Sum>> sums) {
  Centers out = old;
  for (auto& [c, s] : sums)
    for (std::size_t j = 0; j < s.first.size(); ++j) out[c][j] = s.first[j] / static_cast<double>(s.second);
  return out;
}

Centers initial(const Options& o) {
  Centers c(o.k, Point(o.dims));
  for (std::size_t i = 0; i < o.k; ++i)
    for (std::size_t d = 0; d < o.dims; ++d) c[i][d] = coordinate(i * 7919, d);
  return c;
}

// The assignment step with the centers captured: a function object, since a lambda capturing a
// vector cannot travel to executors; Boost serialization ships its copy of the centers.
struct AssignCaptured {
  Centers centers;
  std::pair<std::size_t, Sum> operator()(const Point& p) const { return {nearest(p, centers), Sum{p, 1L}}; }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& centers;
  }
};

// spate K-means; `broadcast`: tasks read the centers from a broadcast per point, else the
// function captures them.
Centers spate_kmeans(spate::Context& ctx, const spate::Dataset<Point>& points, const Options& o, bool broadcast) {
  Centers centers = initial(o);
  for (int it = 0; it < o.iterations; ++it) {
    std::vector<std::pair<std::size_t, Sum>> sums;
    if (broadcast) {
      auto shared = ctx.broadcast(centers);
      sums = points.map([shared](const Point& p) { return std::pair(nearest(p, shared.value()), Sum{p, 1L}); })
                 .reduce_by_key(add)
                 .collect();
      shared.destroy();
    } else {
      sums = points.map(AssignCaptured{centers}).reduce_by_key(add).collect();
    }
    centers = next_centers(centers, std::move(sums));
  }
  return centers;
}

// Every point's coordinates in one flat array, point after point: the baseline's input, built
// before it is timed, as spate's points are cached before spate is.
std::vector<double> flat_points(const Options& o) {
  std::vector<double> xs(o.points * o.dims);
  for (std::size_t i = 0; i < o.points; ++i)
    for (std::size_t d = 0; d < o.dims; ++d) xs[i * o.dims + d] = coordinate(i, d);
  return xs;
}

// The baseline: the same rounds over the flat array, one thread, the centers flat too.
Centers handwritten_kmeans(const Options& o, const std::vector<double>& xs) {
  Centers centers = initial(o);
  std::vector<double> flat(o.k * o.dims), sums(o.k * o.dims);
  std::vector<long> counts(o.k);
  for (int it = 0; it < o.iterations; ++it) {
    for (std::size_t c = 0; c < o.k; ++c)
      for (std::size_t d = 0; d < o.dims; ++d) flat[c * o.dims + d] = centers[c][d];
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i = 0; i < o.points; ++i) {
      const double* p = &xs[i * o.dims];
      std::size_t best = 0;
      double best_d = std::numeric_limits<double>::max();
      for (std::size_t c = 0; c < o.k; ++c) {
        double dist = 0;
        for (std::size_t d = 0; d < o.dims; ++d) {
          double x = p[d] - flat[c * o.dims + d];
          dist += x * x;
        }
        if (dist < best_d) best_d = dist, best = c;
      }
      for (std::size_t d = 0; d < o.dims; ++d) sums[best * o.dims + d] += p[d];
      ++counts[best];
    }
    for (std::size_t c = 0; c < o.k; ++c)
      if (counts[c] > 0)
        for (std::size_t d = 0; d < o.dims; ++d) centers[c][d] = sums[c * o.dims + d] / static_cast<double>(counts[c]);
  }
  return centers;
}

bool close_to(const Centers& a, const Centers& b) {
  for (std::size_t c = 0; c < a.size(); ++c)
    for (std::size_t d = 0; d < a[c].size(); ++d)
      if (std::abs(a[c][d] - b[c][d]) > 1e-9 * std::max(1.0, std::abs(b[c][d]))) return false;
  return true;
}

template <class F>
double median_seconds(int repeat, F&& f) {
  std::vector<double> times;
  for (int r = 0; r < repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    f();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return spate_bench::median(times);
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
    std::vector<std::uint64_t> ids(o.points);
    for (std::size_t i = 0; i < o.points; ++i) ids[i] = i;
    std::size_t dims = o.dims;
    auto points = ctx.parallelize(ids)
                      .map([dims](std::uint64_t i) {
                        Point p(dims);
                        for (std::size_t d = 0; d < dims; ++d) p[d] = coordinate(i, d);
                        return p;
                      })
                      .cache();
    points.count();  // cached before any timing
    Centers want, captured, broadcast;
    const std::vector<double> xs = flat_points(o);
    double baseline = median_seconds(o.repeat, [&] { want = handwritten_kmeans(o, xs); });
    double with_capture = median_seconds(o.repeat, [&] { captured = spate_kmeans(ctx, points, o, false); });
    double with_broadcast = median_seconds(o.repeat, [&] { broadcast = spate_kmeans(ctx, points, o, true); });
    bool ok = close_to(captured, want) && close_to(broadcast, want);
    fmt::print("K-means, {} points x {} dims, {} centers, {} rounds, master {}, median of {}\n", o.points, o.dims, o.k,
               o.iterations, ctx.master(), o.repeat);
    fmt::print("  handwritten, one thread:                        {:7.3f} s\n", baseline);
    fmt::print("  spate, centers captured:                        {:7.3f} s ({:.2f}x handwritten)\n", with_capture,
               with_capture / baseline);
    fmt::print("  spate, centers read from a broadcast per point: {:7.3f} s ({:.2f}x captured)\n", with_broadcast,
               with_broadcast / with_capture);
    if (!ok) fmt::print("WRONG: the centers differ from the handwritten K-means'\n");
    return ok ? 0 : 1;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-bench-kmeans", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-bench-kmeans: %s\n", e.what());
    return 1;
  }
}
