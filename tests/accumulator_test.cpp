// Tests of accumulators: tasks add, the driver reads; the additions of a successful attempt count
// once, those of a failed attempt never. Every master, so the parts cross process boundaries.
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

std::vector<long> one_to(long n) {
  std::vector<long> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 1);
  return v;
}

// A merge policy of the user's own: union of sets, adding single strings or whole sets.
struct Union {
  void operator()(std::set<std::string>& acc, const std::string& s) const { acc.insert(s); }
  void operator()(std::set<std::string>& acc, const std::set<std::string>& s) const {
    acc.insert(s.begin(), s.end());
  }
};

}  // namespace

TEST_CASE("an accumulator holds the sum of what every task added") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto sum = ctx.accumulator<long>("sum");
  auto seen = ctx.accumulator<std::uint64_t>();
  ctx.parallelize(one_to(1000), 7).foreach([sum, seen](long x) {
    sum.add(x);
    seen.add(1);
  });
  CHECK(sum.value() == 500500);
  CHECK(seen.value() == 1000);
  CHECK(sum.name() == "sum");
}

TEST_CASE("accumulator additions in a map stage count once per map partition") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto records = ctx.accumulator<long>();
  auto counts = ctx.parallelize(one_to(300), 5)
                    .map([records](long x) {
                      records.add(1);
                      return std::pair<long, long>(x % 7, 1);
                    })
                    .reduce_by_key([](long a, long b) { return a + b; }, 3)
                    .collect();
  CHECK(counts.size() == 7);
  CHECK(records.value() == 300);
  // The shuffle's outputs are reused by a second job: its map stage does not run again.
  auto again = ctx.parallelize(one_to(10), 2).map([records](long x) {
    records.add(x);
    return x;
  });
  again.count();
  CHECK(records.value() == 300 + 55);
}

TEST_CASE("a retried task's additions count once, a failed attempt's not at all") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master, 3);
  auto added = ctx.accumulator<long>();
  auto n = ctx.parallelize(one_to(100), 4)
               .map([added](long x) {
                 added.add(1);
                 // Every partition fails its first attempt after adding some of its records.
                 if (x % 25 == 10 && spate::this_task()->attempt == 1) throw std::runtime_error("first try");
                 return x;
               })
               .count();
  CHECK(n == 100);
  CHECK(added.value() == 100);
}

TEST_CASE("the additions of a task that never succeeds are dropped when the job fails") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master, 2);
  auto from_bad = ctx.accumulator<long>();
  auto ds = ctx.parallelize(one_to(40), 4).map([from_bad](long x) {
    if (spate::this_task()->partition == 2) {
      from_bad.add(1);
      if (x == 25) throw std::runtime_error("bad record");
    }
    return x;
  });
  CHECK_THROWS_AS(ds.count(), spate::job_error);
  CHECK(from_bad.value() == 0);
}

TEST_CASE("max, min and a user's merge policy combine the parts of every task") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto hi = ctx.accumulator<long, spate::Max>();
  auto lo = ctx.accumulator<long, spate::Min>();
  auto words = ctx.accumulator<std::set<std::string>, Union>();
  CHECK(hi.value() == std::numeric_limits<long>::lowest());
  CHECK(lo.value() == std::numeric_limits<long>::max());
  auto values = random_ints(7, 500, -10000, 10000);
  ctx.parallelize(values, 6).foreach([hi, lo, words](int x) {
    hi.add(x);
    lo.add(x);
    words.add(std::to_string(x % 5));
  });
  CHECK(hi.value() == *std::max_element(values.begin(), values.end()));
  CHECK(lo.value() == *std::min_element(values.begin(), values.end()));
  std::set<std::string> expected;
  for (int x : values) expected.insert(std::to_string(x % 5));
  CHECK(words.value() == expected);
}

TEST_CASE("an accumulator added to on the driver changes at once, and reset starts it over") {
  spate::Context ctx(spate::Options{.master = "local[2]"});
  auto acc = ctx.accumulator<double>();
  acc.add(1.5);
  acc.add(2);
  CHECK(acc.value() == 3.5);
  acc.reset();
  CHECK(acc.value() == 0.0);
  ctx.parallelize(std::vector<int>{1, 2, 3}, 2).foreach([acc](int x) { acc.add(x); });
  CHECK(acc.value() == 6.0);
}

TEST_CASE("this_task names the running attempt and is empty outside tasks") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  CHECK_FALSE(spate::this_task().has_value());
  auto seen = ctx.parallelize(one_to(30), 3)
                  .map_partitions([](std::size_t p, std::vector<long>) {
                    auto t = spate::this_task();
                    return std::vector<std::pair<std::size_t, int>>{{t ? t->partition : 99, t ? t->attempt : 0}};
                  })
                  .collect();
  CHECK(seen == std::vector<std::pair<std::size_t, int>>{{0, 1}, {1, 1}, {2, 1}});
}
