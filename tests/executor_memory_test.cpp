// Cached partitions and the memory budget: a partition that does not fit is computed again when
// read; one that fits is read where it was stored (in local-cluster, on the executor that
// computed it); unpersist frees it everywhere. Computations are counted with an accumulator.
#include <numeric>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace spate_test;

namespace {

std::vector<long> numbers(std::size_t n) {
  std::vector<long> v(n);
  std::iota(v.begin(), v.end(), 0L);
  return v;
}

}  // namespace

TEST_CASE("a cached partition is computed once and then read from where it was stored") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto computed = ctx.accumulator<long>();
  auto ds = ctx.parallelize(numbers(600), 6)
                .map([computed](long x) {
                  computed.add(1);
                  return x * 2;
                })
                .cache();
  for (int round = 0; round < 3; ++round) CHECK(ds.reduce(std::plus<>{}) == 359400L);
  CHECK(computed.value() == 600);
  ds.unpersist();
  CHECK(ds.count() == 600);
  CHECK(computed.value() == 1200);  // freed: computed again
}

TEST_CASE("a partition that does not fit in the memory budget is computed again when read") {
  auto master = GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]");
  spate::Context ctx(spate::Options{.master = master, .executor_memory = 1 << 20});
  auto computed = ctx.accumulator<long>();
  // Two partitions of 2 MiB each: neither fits in 1 MiB.
  auto ds = ctx.parallelize(numbers(1 << 19), 2)
                .map([computed](long x) {
                  computed.add(1);
                  return x;
                })
                .cache();
  CHECK(ds.count() == (1 << 19));
  CHECK(ds.count() == (1 << 19));
  CHECK(computed.value() == 2 * (1 << 19));
}

TEST_CASE("the executor memory flag takes sizes with a suffix and refuses what is not one") {
  const char* good[] = {"prog", "--executor-memory", "64m", "--master", "local[1]"};
  spate::Context ctx(5, good);
  CHECK(ctx.engine()->config().memory_budget == 64ULL << 20);
  for (const char* bad : {"lots", "0", "12q", "100"}) {
    const char* argv[] = {"prog", "--executor-memory", bad};
    try {
      spate::Context c(3, argv);
      FAIL("accepted --executor-memory " << bad);
    } catch (const spate::config_error& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("--executor-memory") && Catch::Contains("512m"));
    }
  }
  const char* hb[] = {"prog", "--heartbeat-timeout", "0.01"};
  CHECK_THROWS_AS(spate::Context(3, hb), spate::config_error);
}
