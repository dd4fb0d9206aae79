// Tests of sort_by_key and sort_by: global order across partitions (ascending, descending and
// with a custom comparator), stability within equal keys, skewed keys and empty inputs.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

/// Records stably sorted by key with `less` (or its reverse), the reference for sort_by_key.
template <class K, class V, class Less = std::less<K>>
std::vector<std::pair<K, V>> stable_by_key(std::vector<std::pair<K, V>> v, bool ascending,
                                           Less less = Less{}) {
  std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
    return ascending ? less(a.first, b.first) : less(b.first, a.first);
  });
  return v;
}

/// (key, index of the record in the input): equal keys are told apart by their index.
std::vector<std::pair<int, int>> indexed_keys(std::uint64_t seed, std::size_t n, int num_keys,
                                              double skew) {
  auto v = random_pairs(seed, n, num_keys, skew);
  for (std::size_t i = 0; i < v.size(); ++i) v[i].second = static_cast<int>(i);
  return v;
}

/// Every key of partition p comes before (by `before`) or equals every key of partition p + 1.
template <class Parts, class Before>
void require_partitions_ordered(const Parts& parts, Before before) {
  const typename Parts::value_type::value_type* last = nullptr;
  std::size_t p = 0;
  for (; p < parts.size(); ++p) {
    for (const auto& r : parts[p]) {
      if (last != nullptr && before(r.first, last->first)) {
        INFO("partition " << p << ": key " << show(r.first) << " after " << show(last->first));
        REQUIRE(false);
      }
      last = &r;
    }
  }
  REQUIRE(p == parts.size());
}

}  // namespace

TEST_CASE("sort_by_key orders records globally by key and keeps equal keys in input order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (double skew : {0.0, 0.8}) {
          CAPTURE(seed, n, parts, skew);
          auto input = indexed_keys(seed, n, 40, skew);
          auto ds = ctx.parallelize(input, parts);
          for (std::size_t out : {0, 1, 4}) {
            CAPTURE(out);
            auto s = ds.sort_by_key(true, out);
            REQUIRE(s.num_partitions() >= 1);
            REQUIRE(same(s.collect(), stable_by_key(input, true)));
            require_partitions_ordered(partitions_of(s), std::less<int>{});
          }
        }
}

TEST_CASE("sort_by_key descending puts the largest keys first and keeps equal keys in input order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (double skew : {0.0, 0.8}) {
          CAPTURE(seed, n, parts, skew);
          auto input = indexed_keys(seed, n, 40, skew);
          auto ds = ctx.parallelize(input, parts);
          for (std::size_t out : {0, 3}) {
            CAPTURE(out);
            auto s = ds.sort_by_key(false, out);
            REQUIRE(same(s.collect(), stable_by_key(input, false)));
            require_partitions_ordered(partitions_of(s), std::greater<int>{});
          }
        }
}

TEST_CASE("sort_by_key spreads many distinct keys over several partitions") {
  // A range partitioner that put everything in one partition would still sort; check that the
  // sample-based bounds do split the work when asked for several partitions.
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = indexed_keys(17, 2000, 100000, 0.0);
  auto parts = partitions_of(ctx.parallelize(input, 4).sort_by_key(true, 4));
  REQUIRE(parts.size() >= 2);
  for (auto& p : parts) CHECK(p.size() < input.size());
}

TEST_CASE("sort_by_key orders string keys, and by a custom comparator") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : partition_counts(150, ctx)) {
      CAPTURE(seed, parts);
      auto words = random_words(seed, 150);
      std::vector<std::pair<std::string, int>> input;
      for (std::size_t i = 0; i < words.size(); ++i) input.emplace_back(words[i], static_cast<int>(i));
      auto ds = ctx.parallelize(input, parts);
      REQUIRE(same(ds.sort_by_key().collect(), stable_by_key(input, true)));
      REQUIRE(same(ds.sort_by_key(false, 3).collect(), stable_by_key(input, false)));
      // Shorter words first; words of equal length are equivalent keys and keep input order.
      auto by_length = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
      auto s = ds.sort_by_key(true, 3, by_length);
      REQUIRE(same(s.collect(), stable_by_key(input, true, by_length)));
      require_partitions_ordered(partitions_of(s), by_length);
      auto d = ds.sort_by_key(false, 2, by_length);
      REQUIRE(same(d.collect(), stable_by_key(input, false, by_length)));
    }
}

TEST_CASE("sort_by_key with std::greater as the comparator sorts in descending order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = indexed_keys(5, 300, 50, 0.1);
  for (auto parts : partition_counts(input.size(), ctx)) {
    CAPTURE(parts);
    auto s = ctx.parallelize(input, parts).sort_by_key(true, 4, std::greater<int>{});
    REQUIRE(same(s.collect(), stable_by_key(input, true, std::greater<int>{})));
  }
}

TEST_CASE("sort_by orders records by f(record), ascending and descending") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -500, 500);
        auto key = [](int x) { return x < 0 ? -x : x; };  // |x|: -3 and 3 are equal keys
        auto up = ctx.parallelize(input, parts).sort_by(key).collect();
        auto down = ctx.parallelize(input, parts).sort_by(key, false, 3).collect();
        // The header promises order by key, not stability: check the key sequence and contents.
        auto keys_of = [&](const std::vector<int>& v) {
          std::vector<int> k;
          for (int x : v) k.push_back(key(x));
          return k;
        };
        auto want_up = keys_of(input);
        std::sort(want_up.begin(), want_up.end());
        auto want_down = want_up;
        std::reverse(want_down.begin(), want_down.end());
        REQUIRE(same(keys_of(up), want_up));
        REQUIRE(same(keys_of(down), want_down));
        REQUIRE(same(sorted(up), sorted(input)));
        REQUIRE(same(sorted(down), sorted(input)));
      }
}

TEST_CASE("sort_by_key of a sorted dataset's partitions keeps the global order after a filter") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = indexed_keys(8, 400, 60, 0.0);
  auto s = ctx.parallelize(input, 5).sort_by_key(true, 4).filter(
      [](const std::pair<int, int>& kv) { return kv.second % 3 != 0; });
  std::vector<std::pair<int, int>> want;
  for (auto& kv : stable_by_key(input, true))
    if (kv.second % 3 != 0) want.push_back(kv);
  REQUIRE(same(s.collect(), want));
  REQUIRE(same(s.take(10), std::vector<std::pair<int, int>>(want.begin(), want.begin() + 10)));
}
