// Tests of the narrow operators (map, filter, flat_map, map_values, flat_map_values, key_by,
// keys, values, map_partitions, union_with, sample, zip_with_index, coalesce) against references
// computed with the standard library, for every partition count, in local[1] and local[3].
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
using spate::Dataset;

}  // namespace

TEST_CASE("map applies f to every record and keeps the order, for any partition count") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -1000, 1000);
        std::vector<long> expected;
        for (int x : input) expected.push_back(3L * x + 1);
        auto ds = ctx.parallelize(input, parts).map([](int x) { return 3L * x + 1; });
        REQUIRE(ds.num_partitions() == parts);
        REQUIRE(same(ds.collect(), expected));
      }
}

TEST_CASE("map may change the record type and chains of maps compose in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_ints(7, 200, 0, 99);
  std::vector<std::string> expected;
  for (int x : input) expected.push_back(std::to_string(x * 2) + "!");
  for (auto parts : partition_counts(input.size(), ctx)) {
    CAPTURE(parts);
    auto ds = ctx.parallelize(input, parts)
                  .map([](int x) { return x * 2; })
                  .map([](int x) { return std::to_string(x); })
                  .map([](std::string s) { return s + "!"; });
    REQUIRE(same(ds.collect(), expected));
  }
}

TEST_CASE("filter keeps exactly the records for which f is true, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -50, 50);
        std::vector<int> expected;
        std::copy_if(input.begin(), input.end(), std::back_inserter(expected),
                     [](int x) { return x % 3 == 0; });
        auto ds = ctx.parallelize(input, parts).filter([](const int& x) { return x % 3 == 0; });
        REQUIRE(same(ds.collect(), expected));
        REQUIRE(ctx.parallelize(input, parts).filter([](int) { return false; }).count() == 0);
      }
}

TEST_CASE("flat_map with a range result emits every element of every range, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, 0, 4);
        std::vector<int> expected;
        for (int x : input)
          for (int i = 0; i < x; ++i) expected.push_back(x * 10 + i);
        auto ds = ctx.parallelize(input, parts).flat_map([](int x) {
          std::vector<int> out;
          for (int i = 0; i < x; ++i) out.push_back(x * 10 + i);
          return out;
        });
        REQUIRE(same(ds.collect(), expected));
      }
}

TEST_CASE("flat_map accepts a view as its range result") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_ints(11, 120, 0, 5);
  std::vector<int> expected;
  for (int x : input)
    for (int i = 0; i < x; ++i) expected.push_back(i);
  for (auto parts : partition_counts(input.size(), ctx)) {
    CAPTURE(parts);
    auto ds = ctx.parallelize(input, parts).flat_map([](int x) { return std::views::iota(0, x); });
    REQUIRE(same(ds.collect(), expected));
  }
}

TEST_CASE("flat_map with a std::optional result keeps the engaged values, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        std::vector<std::string> expected;
        for (int x : input)
          if (x % 2 == 0) expected.push_back(std::to_string(x / 2));
        auto ds = ctx.parallelize(input, parts).flat_map([](int x) -> std::optional<std::string> {
          if (x % 2 != 0) return std::nullopt;
          return std::to_string(x / 2);
        });
        REQUIRE(same(ds.collect(), expected));
      }
}

TEST_CASE("flat_map with an emitter emits every record passed to emit, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, 0, 3);
        std::vector<std::pair<int, int>> expected;
        for (int x : input)
          for (int i = 0; i < x; ++i) expected.emplace_back(x, i);
        auto ds = ctx.parallelize(input, parts).flat_map<std::pair<int, int>>([](int x, auto& emit) {
          for (int i = 0; i < x; ++i) emit(std::pair<int, int>(x, i));
        });
        REQUIRE(same(ds.collect(), expected));
      }
}

TEST_CASE("map_values and flat_map_values change values and keep keys and order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 10);
        std::vector<std::pair<int, std::string>> mapped;
        std::vector<std::pair<int, int>> flat;
        for (auto [k, v] : input) {
          mapped.emplace_back(k, std::to_string(v));
          for (int i = 0; i < (v & 3); ++i) flat.emplace_back(k, v + i);
        }
        auto ds = ctx.parallelize(input, parts);
        REQUIRE(same(ds.map_values([](int v) { return std::to_string(v); }).collect(), mapped));
        auto fm = ds.flat_map_values([](int v) {
          std::vector<int> out;
          for (int i = 0; i < (v & 3); ++i) out.push_back(v + i);
          return out;
        });
        REQUIRE(same(fm.collect(), flat));
      }
}

TEST_CASE("key_by pairs each record with its key, and keys and values split pairs, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -500, 500);
        std::vector<std::pair<int, int>> keyed;
        std::vector<int> keys, values;
        for (int x : input) {
          keyed.emplace_back(x % 7, x);
          keys.push_back(x % 7);
          values.push_back(x);
        }
        auto kd = ctx.parallelize(input, parts).key_by([](int x) { return x % 7; });
        REQUIRE(same(kd.collect(), keyed));
        REQUIRE(same(kd.keys().collect(), keys));
        REQUIRE(same(kd.values().collect(), values));
      }
}

TEST_CASE("key_by keeps a key that is a view into a std::string record") {
  // The key is computed from the record and the record is then moved into the pair: a key that
  // views the record's characters must still read them (short strings live inside the object).
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : {std::size_t{1}, std::size_t{4}}) {
      CAPTURE(seed, parts);
      auto words = random_words(seed, 60);
      words.push_back("a-word-long-enough-to-live-on-the-heap");
      std::vector<std::pair<std::string, std::string>> expected;
      for (auto& w : words) expected.emplace_back(w.substr(0, 2), w);
      auto kd = ctx.parallelize(words, parts).key_by([](const std::string& w) {
        return std::string_view(w).substr(0, 2);
      });
      REQUIRE(same(kd.collect(), expected));
    }
}

TEST_CASE("map_partitions hands each partition whole with its index") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, 0, 1000);
        // parallelize promises contiguous slices of near-equal size, in order.
        std::vector<std::pair<std::size_t, int>> expected;  // (partition, sum of its records)
        for (std::size_t p = 0; p < parts; ++p) {
          std::size_t lo = p * n / parts, hi = (p + 1) * n / parts;
          int sum = 0;
          for (std::size_t i = lo; i < hi; ++i) sum += input[i];
          expected.emplace_back(p, sum);
        }
        auto ds = ctx.parallelize(input, parts).map_partitions([](std::size_t p, std::vector<int> v) {
          int sum = 0;
          for (int x : v) sum += x;
          return std::vector<std::pair<std::size_t, int>>{{p, sum}};
        });
        REQUIRE(ds.num_partitions() == parts);
        REQUIRE(same(ds.collect(), expected));
        auto concat = partitions_of(ctx.parallelize(input, parts));
        std::vector<int> all;
        for (auto& v : concat) all.insert(all.end(), v.begin(), v.end());
        REQUIRE(same(all, input));
      }
}

TEST_CASE("map_partitions gives each task its own copy of the function, so reruns agree") {
  // A function object with state (a mutable lambda) must behave the same on every run: each
  // task starts from the function as it was passed, as FusedNode and the aggregators do.
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto ds = ctx.parallelize(random_ints(5, 40, 0, 9), 4)
                .map_partitions([calls = 0](std::size_t p, std::vector<int>) mutable {
                  ++calls;
                  return std::vector<std::pair<std::size_t, int>>{{p, calls}};
                });
  auto first = ds.collect();
  auto second = ds.collect();
  std::vector<std::pair<std::size_t, int>> expected{{0, 1}, {1, 1}, {2, 1}, {3, 1}};
  CHECK(same(first, expected));
  CHECK(same(second, expected));
}

TEST_CASE("map_partitions may keep the parent's partitioner when asked to") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto keyed = ctx.parallelize(random_pairs(3, 100, 10), 3).partition_by(spate::HashPartitioner(4));
  auto identity = [](std::size_t, std::vector<std::pair<int, int>> v) { return v; };
  auto kept = keyed.map_partitions(identity, true);
  auto dropped = keyed.map_partitions(identity);
  REQUIRE(kept.node()->partitioner() != nullptr);
  CHECK(kept.node()->partitioner()->same_as(spate::HashPartitioner(4)));
  CHECK(dropped.node()->partitioner() == nullptr);
  CHECK(same(kept.collect(), keyed.collect()));
}

TEST_CASE("union_with holds this dataset's partitions first, then the other's") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto a = random_ints(seed, n, 0, 100);
        auto b = random_ints(seed + 100, n / 2 + 1, 0, 100);
        std::vector<int> expected = a;
        expected.insert(expected.end(), b.begin(), b.end());
        auto left = ctx.parallelize(a, parts);
        auto right = ctx.parallelize(b, 2).map([](int x) { return x; });
        auto u = left.union_with(right);
        REQUIRE(u.num_partitions() == parts + 2);
        REQUIRE(same(u.collect(), expected));
        // A dataset united with itself holds every record twice.
        auto twice = a;
        twice.insert(twice.end(), a.begin(), a.end());
        REQUIRE(same(sorted(left.union_with(left).collect()), sorted(twice)));
      }
}

TEST_CASE("sample without replacement is deterministic, a sub-multiset, and near the fraction") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<int> input(20000);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<int>(i);
  for (auto parts : {std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
    CAPTURE(parts);
    auto ds = ctx.parallelize(input, parts);
    auto s1 = ds.sample(false, 0.25, 99).collect();
    auto s2 = ds.sample(false, 0.25, 99).collect();
    REQUIRE(same(s1, s2));
    // Distinct inputs: a sample without replacement has no repeats and only input records.
    auto s = sorted(s1);
    REQUIRE(std::adjacent_find(s.begin(), s.end()) == s.end());
    REQUIRE(std::includes(input.begin(), input.end(), s.begin(), s.end()));
    // Expected 5000, standard deviation about 61: allow six of them.
    CHECK(std::abs(static_cast<double>(s1.size()) - 5000.0) < 370.0);
    // Another seed gives another sample.
    CHECK(ds.sample(false, 0.25, 100).collect() != s1);
    CHECK(ds.sample(false, 0.0, 1).collect().empty());
    CHECK(same(ds.sample(false, 1.0, 1).collect(), input));
  }
}

TEST_CASE("sample is the same for every master at a given seed and partition count") {
  std::vector<int> input(3000);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<int>(i);
  auto one = make_context("local[1]");
  auto three = make_context("local[3]");
  auto cluster = make_context("local-cluster[3]");
  for (bool replace : {false, true}) {
    CAPTURE(replace);
    auto a = one.parallelize(input, 5).sample(replace, 0.4, 7).collect();
    auto b = three.parallelize(input, 5).sample(replace, 0.4, 7).collect();
    auto c = cluster.parallelize(input, 5).sample(replace, 0.4, 7).collect();
    REQUIRE(same(a, b));
    REQUIRE(same(a, c));
  }
}

TEST_CASE("sample with replacement repeats records about fraction times on average") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<int> input(10000);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<int>(i);
  for (auto parts : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(parts);
    auto ds = ctx.parallelize(input, parts);
    for (double fraction : {0.5, 2.0}) {
      CAPTURE(fraction);
      auto s1 = ds.sample(true, fraction, 5).collect();
      REQUIRE(same(s1, ds.sample(true, fraction, 5).collect()));
      REQUIRE(std::all_of(s1.begin(), s1.end(), [](int x) { return x >= 0 && x < 10000; }));
      // Poisson(fraction) copies of each of 10000 records: mean 10000 * fraction, variance the
      // same; allow six standard deviations.
      double mean = 10000.0 * fraction;
      CHECK(std::abs(static_cast<double>(s1.size()) - mean) < 6.0 * std::sqrt(mean));
      if (fraction > 1.0) {
        std::map<int, int> copies;
        for (int x : s1) ++copies[x];
        int most = 0;
        for (auto& [x, c] : copies) most = std::max(most, c);
        CHECK(most > 1);
      }
    }
  }
}

TEST_CASE("sample refuses fractions outside its range") {
  auto ctx = make_context("local[1]");
  auto ds = ctx.parallelize(std::vector<int>{1, 2, 3}, 2);
  CHECK_THROWS_AS(ds.sample(false, 1.5), spate::config_error);
  CHECK_THROWS_AS(ds.sample(false, -0.1), spate::config_error);
  CHECK_THROWS_AS(ds.sample(true, -1.0), spate::config_error);
  CHECK_THROWS_AS(ds.sample(false, std::nan("")), spate::config_error);
  CHECK_NOTHROW(ds.sample(true, 3.0));
}

TEST_CASE("zip_with_index numbers records 0..count-1 in partition order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -9, 9);
        std::vector<std::pair<int, std::uint64_t>> expected;
        for (std::size_t i = 0; i < input.size(); ++i) expected.emplace_back(input[i], i);
        auto z = ctx.parallelize(input, parts).zip_with_index();
        REQUIRE(z.num_partitions() == parts);
        REQUIRE(same(z.collect(), expected));
        // After a filter that empties some partitions, indexes are still dense.
        std::vector<std::pair<int, std::uint64_t>> kept;
        for (int x : input)
          if (x > 0) kept.emplace_back(x, kept.size());
        auto zk = ctx.parallelize(input, parts).filter([](int x) { return x > 0; }).zip_with_index();
        REQUIRE(same(zk.collect(), kept));
      }
}

TEST_CASE("coalesce merges neighbouring partitions into at most n, keeping every record in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (std::size_t target : {std::size_t{1}, std::size_t{2}, std::size_t{5}, parts + 3}) {
          CAPTURE(seed, n, parts, target);
          auto input = random_ints(seed, n, 0, 100);
          auto c = ctx.parallelize(input, parts).coalesce(target);
          REQUIRE(c.num_partitions() <= target);
          REQUIRE(c.num_partitions() == std::min(target, parts));
          REQUIRE(same(c.collect(), input));
        }
}

TEST_CASE("coalesce to zero partitions is refused") {
  auto ctx = make_context("local[1]");
  CHECK_THROWS_AS(ctx.parallelize(std::vector<int>{1, 2}, 2).coalesce(0), spate::config_error);
}

TEST_CASE("a long chain of narrow operators equals the same steps done with the standard library") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        std::vector<std::pair<std::string, int>> expected;
        for (int x : input) {
          if (x < -50) continue;
          for (int y : {x, x + 1}) {
            int v = y * y;
            if (v % 5 == 0) continue;
            expected.emplace_back("k" + std::to_string(v % 4), v + 1);
          }
        }
        auto ds = ctx.parallelize(input, parts)
                      .filter([](int x) { return x >= -50; })
                      .flat_map([](int x) { return std::vector<int>{x, x + 1}; })
                      .map([](int y) { return y * y; })
                      .filter([](int v) { return v % 5 != 0; })
                      .key_by([](int v) { return "k" + std::to_string(v % 4); })
                      .map_values([](int v) { return v + 1; });
        REQUIRE(same(ds.collect(), expected));
      }
}

TEST_CASE("filter, map_values and flat_map_values keep the partitioner, and map and key_by drop it") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto keyed = ctx.parallelize(random_pairs(1, 50, 5), 2).partition_by(spate::HashPartitioner(3));
  spate::HashPartitioner hp(3);
  auto keeps = [&](const auto& ds) {
    auto p = ds.node()->partitioner();
    return p != nullptr && p->same_as(hp);
  };
  CHECK(keeps(keyed));
  CHECK(keeps(keyed.filter([](const std::pair<int, int>& kv) { return kv.second > 0; })));
  CHECK(keeps(keyed.map_values([](int v) { return v * 2; })));
  CHECK(keeps(keyed.flat_map_values([](int v) { return std::vector<int>{v, v}; })));
  CHECK(keyed.map([](std::pair<int, int> kv) { return kv; }).node()->partitioner() == nullptr);
  CHECK(keyed.key_by([](const std::pair<int, int>& kv) { return kv.first; }).node()->partitioner() ==
        nullptr);
}
