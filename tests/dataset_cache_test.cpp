// Tests of cache, persist and unpersist, and of shuffle output reuse: how often a user's function
// runs across several actions. The functions count their calls through an std::atomic captured
// by pointer, which works in local mode only (an executor process has no such pointer).
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

}  // namespace

TEST_CASE("a cached dataset is computed once across actions") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto n : kSizes)
    for (auto parts : partition_counts(n, ctx)) {
      CAPTURE(n, parts);
      auto input = random_ints(n + parts, n, -100, 100);
      std::atomic<int> calls{0};
      auto* c = &calls;
      auto doubled = ctx.parallelize(input, parts).map([c](int x) {
        c->fetch_add(1);
        return 2 * x;
      });
      auto cached = doubled.cache();
      std::vector<int> want;
      for (int x : input) want.push_back(2 * x);
      REQUIRE(same(cached.collect(), want));
      REQUIRE(cached.count() == n);
      REQUIRE(same(cached.take(3), std::vector<int>(want.begin(), want.begin() + std::min<std::size_t>(3, n))));
      REQUIRE(same(sorted(cached.map([](int x) { return std::pair<int, int>(x % 3, 1); })
                              .reduce_by_key(std::plus<>{})
                              .collect()),
                   [&] {
                     std::map<int, int> m;
                     for (int x : want) ++m[x % 3];
                     return std::vector<std::pair<int, int>>(m.begin(), m.end());
                   }()));
      REQUIRE(calls.load() == static_cast<int>(n));
      // cache() on a handle caches for every copy of it, the original chain included.
      REQUIRE(doubled.count() == n);
      REQUIRE(calls.load() == static_cast<int>(n));
    }
}

TEST_CASE("datasets derived from a cached chain handle read its cached partitions") {
  // cache() marks the handle's own (fused) node, so later actions on that handle reuse it; a
  // dataset derived from the same handle must reuse it too, as in Spark's rdd.cache().
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto parts : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(parts);
    auto input = random_ints(parts, 100, -50, 50);
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto doubled = ctx.parallelize(input, parts).map([c](int x) {
      c->fetch_add(1);
      return 2 * x;
    });
    doubled.cache();
    REQUIRE(doubled.count() == 100);
    REQUIRE(calls.load() == 100);
    std::vector<int> plus_one;
    for (int x : input) plus_one.push_back(2 * x + 1);
    REQUIRE(same(doubled.map([](int x) { return x + 1; }).collect(), plus_one));
    CHECK(calls.load() == 100);
    REQUIRE(doubled.filter([](int x) { return x > 0; }).count() ==
            static_cast<std::size_t>(std::count_if(input.begin(), input.end(), [](int x) { return x > 0; })));
    CHECK(calls.load() == 100);
    auto keyed = doubled.key_by([](int x) { return x % 3; }).reduce_by_key(std::plus<>{});
    REQUIRE(keyed.count() <= 5);
    CHECK(calls.load() == 100);
  }
}

TEST_CASE("persist keeps partitions like cache") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto input = random_ints(4, 100, 0, 9);
  auto ds = ctx.parallelize(input, 4)
                .map([c](int x) {
                  c->fetch_add(1);
                  return std::to_string(x);
                })
                .persist();
  REQUIRE(ds.count() == 100);
  REQUIRE(ds.collect().size() == 100);
  REQUIRE(calls.load() == 100);
}

TEST_CASE("after unpersist a cached dataset is recomputed, and can be cached again") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto parts : partition_counts(50, ctx)) {
    CAPTURE(parts);
    auto input = random_ints(parts, 50, 0, 1000);
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto cached = ctx.parallelize(input, parts)
                      .map([c](int x) {
                        c->fetch_add(1);
                        return x + 1;
                      })
                      .cache();
    REQUIRE(cached.count() == 50);
    REQUIRE(cached.count() == 50);
    REQUIRE(calls.load() == 50);
    cached.unpersist();
    REQUIRE(cached.count() == 50);
    REQUIRE(calls.load() == 100);
    REQUIRE(cached.count() == 50);
    REQUIRE(calls.load() == 150);
    auto again = cached.cache();
    REQUIRE(again.count() == 50);
    REQUIRE(same(again.collect(), [&] {
      auto v = input;
      for (auto& x : v) ++x;
      return v;
    }()));
    REQUIRE(calls.load() == 200);
  }
}

TEST_CASE("a cache filled partly by take is completed by a later action, each partition once") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto input = random_ints(9, 90, 0, 100);
  auto cached = ctx.parallelize(input, 9)
                    .map([c](int x) {
                      c->fetch_add(1);
                      return x;
                    })
                    .cache();
  REQUIRE(same(cached.take(2), std::vector<int>{input[0], input[1]}));
  REQUIRE(calls.load() == 10);  // take scans as few partitions as it can: the first one
  REQUIRE(same(cached.collect(), input));
  REQUIRE(calls.load() == 90);
}

TEST_CASE("a cached view-typed dataset holds owned records and unpersist on it frees them") {
  // Records are std::string_view into the parallelized strings; cache() stores std::string.
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  auto words = random_words(3, 80);
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto views = ctx.parallelize(words, 3).map([c](const std::string& s) {
    c->fetch_add(1);
    return std::string_view(s);
  });
  auto cached = views.cache();
  static_assert(std::is_same_v<decltype(cached.collect()), std::vector<std::string>>);
  REQUIRE(same(cached.collect(), words));
  REQUIRE(same(cached.collect(), words));
  REQUIRE(calls.load() == 80);
  // unpersist() on the dataset that was cached: "later actions recompute them".
  views.unpersist();
  REQUIRE(same(cached.collect(), words));
  CHECK(calls.load() == 160);
}

TEST_CASE("unpersist on the cached handle of a view-typed dataset frees its partitions") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  auto words = random_words(4, 60);
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto cached = ctx.parallelize(words, 2)
                    .map([c](const std::string& s) {
                      c->fetch_add(1);
                      return std::string_view(s);
                    })
                    .cache();
  REQUIRE(cached.count() == 60);
  REQUIRE(cached.count() == 60);
  REQUIRE(calls.load() == 60);
  cached.unpersist();
  REQUIRE(same(cached.collect(), words));
  REQUIRE(calls.load() == 120);
}

TEST_CASE("shuffle outputs are reused by later actions instead of recomputed") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto parts : partition_counts(120, ctx)) {
    CAPTURE(parts);
    auto input = random_pairs(parts, 120, 10, 0.5);
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto sums = ctx.parallelize(input, parts)
                    .map([c](std::pair<int, int> kv) {
                      c->fetch_add(1);
                      return kv;
                    })
                    .reduce_by_key(std::plus<>{}, 3);
    std::map<int, int> ref;
    for (auto [k, v] : input) ref[k] += v;
    REQUIRE(same(sorted(sums.collect()), std::vector<std::pair<int, int>>(ref.begin(), ref.end())));
    REQUIRE(sums.count() == ref.size());
    REQUIRE(sums.map_values([](int v) { return v * 2; }).count() == ref.size());
    REQUIRE(calls.load() == 120);
  }
}

TEST_CASE("a cached dataset feeds several wide operators with one computation") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto input = random_pairs(77, 200, 12, 0.3);
  auto cached = ctx.parallelize(input, 4)
                    .map([c](std::pair<int, int> kv) {
                      c->fetch_add(1);
                      return kv;
                    })
                    .cache();
  auto sums = cached.reduce_by_key(std::plus<>{});
  auto groups = cached.group_by_key(2);
  auto keys = cached.keys().distinct();
  std::map<int, int> ref;
  for (auto [k, v] : input) ref[k] += v;
  REQUIRE(same(sorted(sums.collect()), std::vector<std::pair<int, int>>(ref.begin(), ref.end())));
  REQUIRE(groups.count() == ref.size());
  REQUIRE(keys.count() == ref.size());
  REQUIRE(calls.load() == 200);
}
