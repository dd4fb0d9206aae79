// Tests of the operators built on grouping by key (group_by, filter_by_range, intersection,
// subtract, subtract_by_key, cogroup with two and three others,
// repartition_and_sort_within_partitions) against std references, in every master.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

template <class T>
std::multiset<T> bag(const std::vector<T>& v) {
  return std::multiset<T>(v.begin(), v.end());
}

}  // namespace

TEST_CASE("group_by groups records under f(record), each record once, in arrival order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto words = random_words(seed, n);
        auto got = ctx.parallelize(words, parts)
                       .group_by([](const std::string& w) { return w.size(); })
                       .collect();
        std::map<std::size_t, std::vector<std::string>> want;
        for (const auto& w : words) want[w.size()].push_back(w);
        std::map<std::size_t, std::vector<std::string>> have;
        for (auto& [k, ws] : got) {
          REQUIRE(have.count(k) == 0);
          have[k] = ws;
        }
        REQUIRE(same(have, want));
      }
}

TEST_CASE("intersection gives each record held by both sides once") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto a = random_ints(seed, n, 0, 40);
        auto b = random_ints(seed + 100, n / 2 + 3, 20, 60);
        auto got = ctx.parallelize(a, parts).intersection(ctx.parallelize(b, 2)).collect();
        std::set<int> sa(a.begin(), a.end()), sb(b.begin(), b.end());
        std::vector<int> want;
        std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(want));
        REQUIRE(same(sorted(got), want));
        auto ds = ctx.parallelize(a, parts).intersection(ctx.parallelize(b, 2));
        REQUIRE(ds.num_partitions() == std::max<std::size_t>(parts, 2));
      }
}

TEST_CASE("subtract keeps the records (duplicates too) that the other side does not hold") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto a = random_words(seed, n);
        auto b = random_words(seed + 1, n / 3);
        auto ds = ctx.parallelize(a, parts).subtract(ctx.parallelize(b, 3));
        REQUIRE(ds.num_partitions() == parts);
        std::set<std::string> sb(b.begin(), b.end());
        std::vector<std::string> want;
        for (const auto& w : a)
          if (!sb.count(w)) want.push_back(w);
        REQUIRE(same(bag(ds.collect()), bag(want)));
      }
}

TEST_CASE("subtract_by_key keeps the pairs whose key the other side lacks, whatever its values") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto a = random_pairs(seed, n, 12);
        std::vector<std::pair<int, std::string>> b;
        for (int k = 0; k < 12; k += 3) b.emplace_back(k, "x");
        auto got = ctx.parallelize(a, parts).subtract_by_key(ctx.parallelize(b, 2), 4).collect();
        std::vector<std::pair<int, int>> want;
        for (const auto& r : a)
          if (r.first % 3 != 0) want.push_back(r);
        REQUIRE(same(bag(got), bag(want)));
      }
}

TEST_CASE("cogroup with two and three others gives every key of any side with each side's values") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes) {
      CAPTURE(seed, n);
      auto a = random_pairs(seed, n, 8);
      auto b = random_pairs(seed + 1, n / 2, 10);
      std::vector<std::pair<int, std::string>> c;
      for (const auto& [k, v] : random_pairs(seed + 2, n / 3 + 1, 6)) c.emplace_back(k, std::to_string(v));
      auto d = random_pairs(seed + 3, 5, 20);
      auto da = ctx.parallelize(a, 3);
      auto db = ctx.parallelize(b, 2);
      auto dc = ctx.parallelize(c, 4);
      auto dd = ctx.parallelize(d, 1);

      using Three = std::tuple<std::vector<int>, std::vector<int>, std::vector<std::string>>;
      std::map<int, Three> want3;
      for (const auto& [k, v] : a) std::get<0>(want3[k]).push_back(v);
      for (const auto& [k, v] : b) std::get<1>(want3[k]).push_back(v);
      for (const auto& [k, v] : c) std::get<2>(want3[k]).push_back(v);
      auto g3 = da.cogroup(db, dc);
      REQUIRE(g3.num_partitions() == 4);
      std::map<int, Three> got3;
      for (auto& [k, t] : g3.collect()) {
        REQUIRE(got3.count(k) == 0);
        // Values of one side keep their order only within a partition of that side: compare sorted.
        got3[k] = Three(sorted(std::get<0>(t)), sorted(std::get<1>(t)), sorted(std::get<2>(t)));
      }
      for (auto& [k, t] : want3) t = Three(sorted(std::get<0>(t)), sorted(std::get<1>(t)), sorted(std::get<2>(t)));
      REQUIRE(same(got3, want3));

      using Four = std::tuple<std::vector<int>, std::vector<int>, std::vector<std::string>, std::vector<int>>;
      std::map<int, Four> want4;
      for (auto& [k, t] : want3) want4[k] = Four(std::get<0>(t), std::get<1>(t), std::get<2>(t), {});
      for (const auto& [k, v] : d) std::get<3>(want4[k]).push_back(v);
      for (auto& [k, t] : want4) std::get<3>(t) = sorted(std::get<3>(t));
      std::map<int, Four> got4;
      for (auto& [k, t] : da.cogroup(db, dc, dd, 5).collect()) {
        REQUIRE(got4.count(k) == 0);
        got4[k] = Four(sorted(std::get<0>(t)), sorted(std::get<1>(t)), sorted(std::get<2>(t)),
                       sorted(std::get<3>(t)));
      }
      REQUIRE(same(got4, want4));
    }
}

TEST_CASE("filter_by_range keeps keys in [lower, upper], in the order of a sorted dataset") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (bool ascending : {true, false}) {
        CAPTURE(seed, n, ascending);
        auto input = random_pairs(seed, n, 30);
        auto sorted_ds = ctx.parallelize(input, 3).sort_by_key(ascending, 5);
        spate::Dataset<std::pair<int, int>> in_range = sorted_ds.filter_by_range(10, 19);
        std::vector<std::pair<int, int>> want;
        for (const auto& r : sorted_ds.collect())
          if (r.first >= 10 && r.first <= 19) want.push_back(r);
        REQUIRE(in_range.collect() == want);
        // Bounds the wrong way round hold nothing, as in Spark.
        REQUIRE(sorted_ds.filter_by_range(19, 10).collect().empty());
        auto hashed = ctx.parallelize(input, 3).partition_by(spate::HashPartitioner(4));
        auto hashed_in_range = hashed.filter_by_range(10, 19);
        REQUIRE(same(bag(hashed_in_range.collect()), bag(want)));
        REQUIRE(hashed_in_range.num_partitions() == 4);
        REQUIRE(hashed_in_range.partitioner() == hashed.partitioner());
      }
}

TEST_CASE("filter_by_range on a range-partitioned dataset reads only the partitions its range "
          "can hold, and knows a partitioner they obey") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<std::pair<int, int>> input;
  for (int i = 0; i < 1000; ++i) input.emplace_back((i * 7919) % 1000, i);  // each key once
  for (bool ascending : {true, false}) {
    CAPTURE(ascending);
    auto sorted_ds = ctx.parallelize(input, 4).sort_by_key(ascending, 10);
    REQUIRE(sorted_ds.num_partitions() == 10);
    auto& whole = dynamic_cast<const spate::RangePartitioner<int>&>(*sorted_ds.partitioner());
    std::set<std::size_t> holding;
    for (int k = 250; k <= 449; ++k) holding.insert(whole(k));
    auto in_range = sorted_ds.filter_by_range(250, 449);
    REQUIRE(in_range.num_partitions() == holding.size());
    REQUIRE(in_range.num_partitions() < 10);
    auto parts = partitions_of(in_range);
    auto& kept = dynamic_cast<const spate::RangePartitioner<int>&>(*in_range.partitioner());
    std::size_t records = 0;
    for (std::size_t p = 0; p < parts.size(); ++p)
      for (const auto& [k, v] : parts[p]) {
        CAPTURE(p, k);
        REQUIRE(k >= 250);
        REQUIRE(k <= 449);
        REQUIRE(kept(k) == p);
        REQUIRE(whole(k) == *holding.begin() + p);
        ++records;
      }
    REQUIRE(records == 200);
    // A range inside one partition reads that partition alone.
    REQUIRE(sorted_ds.filter_by_range(300, 300).num_partitions() == 1);
    auto key_300 =
        std::find_if(input.begin(), input.end(), [](const auto& r) { return r.first == 300; });
    REQUIRE(sorted_ds.filter_by_range(300, 300).values().collect() ==
            std::vector<int>{key_300->second});
  }
}

TEST_CASE("a range partitioner's subrange numbers the kept partitions from 0, either way") {
  spate::RangePartitioner<int> up({10, 20, 30, 40}, true);
  auto mid = up.subrange(1, 3);
  REQUIRE(mid.num_partitions() == 3);
  for (int k : {11, 15, 20, 21, 30, 31, 40})
    REQUIRE(mid(k) == up(k) - 1);
  REQUIRE(mid(5) == 0);
  REQUIRE(mid(45) == 2);
  spate::RangePartitioner<int> down({10, 20, 30, 40}, false);
  auto top = down.subrange(1, 3);
  REQUIRE(top.num_partitions() == 3);
  for (int k : {11, 15, 20, 21, 30, 31, 40})
    REQUIRE(top(k) == down(k) - 1);
  REQUIRE(top(45) == 0);
  REQUIRE(top(5) == 2);
  REQUIRE(up.subrange(0, 4).same_as(up));
  REQUIRE(up.subrange(2, 2).num_partitions() == 1);
}

TEST_CASE("repartition_and_sort_within_partitions places keys by the partitioner and sorts each "
          "partition by key, stably") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 25);
        spate::HashPartitioner hash(4);
        auto ds = ctx.parallelize(input, parts).repartition_and_sort_within_partitions(hash);
        REQUIRE(ds.num_partitions() == 4);
        REQUIRE(ds.partitioner()->same_as(hash));
        auto got = partitions_of(ds);
        std::vector<std::pair<int, int>> all;
        for (std::size_t p = 0; p < got.size(); ++p) {
          for (const auto& r : got[p]) REQUIRE(hash(r.first) == p);
          REQUIRE(std::is_sorted(got[p].begin(), got[p].end(),
                                 [](const auto& x, const auto& y) { return x.first < y.first; }));
          all.insert(all.end(), got[p].begin(), got[p].end());
        }
        REQUIRE(same(bag(all), bag(input)));
        // Descending by a comparator of the caller's.
        auto desc = ctx.parallelize(input, parts)
                        .repartition_and_sort_within_partitions(hash, std::greater<int>{});
        for (const auto& part : partitions_of(desc))
          REQUIRE(std::is_sorted(part.begin(), part.end(),
                                 [](const auto& x, const auto& y) { return x.first > y.first; }));
      }
}
