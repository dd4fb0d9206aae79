// Tests of the by-key and shuffling operators (reduce_by_key, aggregate_by_key, fold_by_key,
// group_by_key, distinct, partition_by, repartition) against std::map references, for every
// partition count, skewed keys and empty inputs, in local[1] and local[3].
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "spate/serialization.hpp"
#include "test_support.hpp"

namespace {

using namespace spate_test;

/// Values per key, each list in input order.
std::map<int, std::vector<int>> values_by_key(const std::vector<std::pair<int, int>>& input) {
  std::map<int, std::vector<int>> m;
  for (auto [k, v] : input) m[k].push_back(v);
  return m;
}

/// Output partition counts tried for a wide operator: the parent's (0), fewer, and more.
std::vector<std::size_t> output_partitions(const spate::Context& ctx) {
  return pick<std::size_t>(ctx, {0, 1, 4, 11}, {0, 4});
}

/// Every record of every partition of ds sits where HashPartitioner(n) sends its key.
template <class D>
void require_hash_placement(const D& ds, std::size_t n) {
  spate::HashPartitioner hp(n);
  auto parts = partitions_of(ds);
  REQUIRE(parts.size() == n);
  std::size_t misplaced = 0;
  std::string example;
  for (std::size_t p = 0; p < parts.size(); ++p)
    for (const auto& r : parts[p])
      if (hp(r.first) != p && misplaced++ == 0)
        example = "key " + show(r.first) + " in partition " + std::to_string(p);
  INFO(example);
  REQUIRE(misplaced == 0);
}

}  // namespace

TEST_CASE("reduce_by_key sums values per key for any partition count") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (double skew : {0.0, 0.8}) {
          CAPTURE(seed, n, parts, skew);
          auto input = random_pairs(seed, n, 13, skew);
          std::map<int, long> sums;
          for (auto [k, v] : input) sums[k] += v;
          std::vector<std::pair<int, long>> expected(sums.begin(), sums.end());
          auto ds = ctx.parallelize(input, parts).map_values([](int v) { return long{v}; });
          for (auto out : output_partitions(ctx)) {
            CAPTURE(out);
            auto r = ds.reduce_by_key(std::plus<>{}, out);
            REQUIRE(r.num_partitions() == (out ? out : parts));
            REQUIRE(same(sorted(r.collect()), expected));
          }
        }
}

TEST_CASE("reduce_by_key places each key where its HashPartitioner says and reports it") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_pairs(4, 400, 50, 0.3);
  for (auto parts : partition_counts(input.size(), ctx))
    for (std::size_t out : {1, 3, 8}) {
      CAPTURE(parts, out);
      auto r = ctx.parallelize(input, parts).reduce_by_key([](int a, int b) { return std::max(a, b); },
                                                          out);
      REQUIRE(r.node()->partitioner() != nullptr);
      REQUIRE(r.node()->partitioner()->same_as(spate::HashPartitioner(out)));
      require_hash_placement(r, out);
      std::map<int, int> maxima;
      for (auto [k, v] : input) maxima[k] = maxima.count(k) ? std::max(maxima[k], v) : v;
      REQUIRE(same(sorted(r.collect()), std::vector<std::pair<int, int>>(maxima.begin(), maxima.end())));
    }
}

TEST_CASE("reduce_by_key emits each key once even when one key holds most records") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<std::pair<std::string, int>> input;
  for (int i = 0; i < 1000; ++i) input.emplace_back(i % 50 == 0 ? "rare" + std::to_string(i) : "hot", 1);
  for (auto parts : partition_counts(input.size(), ctx)) {
    CAPTURE(parts);
    auto counts = ctx.parallelize(input, parts).reduce_by_key(std::plus<>{}).collect();
    std::map<std::string, int> got;
    for (auto& [k, c] : counts) REQUIRE(got.emplace(k, c).second);
    REQUIRE(got.size() == 21);
    REQUIRE(got["hot"] == 980);
    REQUIRE(got["rare0"] == 1);
  }
}

TEST_CASE("aggregate_by_key folds each key's values into a combiner of another type") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 9, 0.5);
        auto ds = ctx.parallelize(input, parts);
        // (sum, count) per key.
        using SumCount = std::pair<long, int>;
        auto r = ds.aggregate_by_key(
            SumCount{0, 0}, [](SumCount c, int v) { return SumCount{c.first + v, c.second + 1}; },
            [](SumCount a, const SumCount& b) { return SumCount{a.first + b.first, a.second + b.second}; });
        std::map<int, SumCount> ref;
        for (auto [k, v] : input) {
          ref[k].first += v;
          ref[k].second += 1;
        }
        REQUIRE(r.num_partitions() == parts);
        REQUIRE(same(sorted(r.collect()), std::vector<std::pair<int, SumCount>>(ref.begin(), ref.end())));
        // All values, as a vector: the zero is copied, never shared between keys or partitions.
        auto lists = ds.aggregate_by_key(
            std::vector<int>{},
            [](std::vector<int> c, int v) {
              c.push_back(v);
              return c;
            },
            [](std::vector<int> a, const std::vector<int>& b) {
              a.insert(a.end(), b.begin(), b.end());
              return a;
            },
            3);
        REQUIRE(lists.num_partitions() == 3);
        std::map<int, std::vector<int>> got;
        for (auto& [k, vs] : lists.collect()) REQUIRE(got.emplace(k, sorted(vs)).second);
        auto want = values_by_key(input);
        for (auto& [k, vs] : want) vs = sorted(vs);
        REQUIRE(same(got, want));
      }
}

TEST_CASE("fold_by_key starts from zero once per key in each map partition") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_pairs(seed, n, 6, 0.4);
        auto ds = ctx.parallelize(input, parts);
        std::map<int, int> sums;
        for (auto [k, v] : input) sums[k] += v;
        REQUIRE(same(sorted(ds.fold_by_key(0, std::plus<>{}).collect()),
                     std::vector<std::pair<int, int>>(sums.begin(), sums.end())));
        // A zero that is not neutral shows how often it is used: once per (key, map partition),
        // as the header says (map-side fold from a copy of zero, then merge).
        std::map<int, int> expected = sums;
        for (std::size_t p = 0; p < parts; ++p) {
          std::set<int> keys;
          for (std::size_t i = p * n / parts; i < (p + 1) * n / parts; ++i) keys.insert(input[i].first);
          for (int k : keys) expected[k] += 1000;
        }
        REQUIRE(same(sorted(ds.fold_by_key(1000, std::plus<>{}, 5).collect()),
                     std::vector<std::pair<int, int>>(expected.begin(), expected.end())));
      }
}

TEST_CASE("fold_by_key folds into the value type even when zero is a literal of another type") {
  // fold_by_key is declared with V = value_of_t<T>: the zero is a value, as in Spark's
  // foldByKey(zeroValue: V). An int literal zero must not turn long values into int sums.
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<std::pair<int, long>> input;
  for (int i = 0; i < 30; ++i) input.emplace_back(i % 3, 2'000'000'000L + i);
  std::map<int, long> ref;
  for (auto [k, v] : input) ref[k] += v;
  for (std::size_t parts : {1, 4}) {
    CAPTURE(parts);
    std::map<int, long> got;
    for (auto& [k, v] : ctx.parallelize(input, parts).fold_by_key(0, std::plus<>{}).collect())
      got[k] = static_cast<long>(v);
    REQUIRE(same(got, ref));
  }
}

TEST_CASE("group_by_key gathers every value of each key exactly once") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (double skew : {0.0, 0.9}) {
          CAPTURE(seed, n, parts, skew);
          auto input = random_pairs(seed, n, 11, skew);
          auto want = values_by_key(input);
          for (auto& [k, vs] : want) vs = sorted(vs);
          for (auto out : output_partitions(ctx)) {
            CAPTURE(out);
            auto g = ctx.parallelize(input, parts).group_by_key(out);
            REQUIRE(g.num_partitions() == (out ? out : parts));
            std::map<int, std::vector<int>> got;
            for (auto& [k, vs] : g.collect()) REQUIRE(got.emplace(k, sorted(vs)).second);
            REQUIRE(same(got, want));
          }
        }
}

TEST_CASE("group_by_key lists values in arrival order: map partition order, then record order") {
  // read_buckets reads map outputs in map-partition order, so for a parallelized source the
  // arrival order is the input order.
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : partition_counts(200, ctx)) {
      CAPTURE(seed, parts);
      auto input = random_pairs(seed, 200, 7, 0.3);
      std::map<int, std::vector<int>> got;
      for (auto& [k, vs] : ctx.parallelize(input, parts).group_by_key(3).collect()) got[k] = vs;
      REQUIRE(same(got, values_by_key(input)));
    }
}

TEST_CASE("group_by_key places each key where its HashPartitioner says") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_pairs(9, 300, 40);
  for (std::size_t out : {1, 2, 7}) {
    CAPTURE(out);
    auto g = ctx.parallelize(input, 3).group_by_key(out);
    REQUIRE(g.node()->partitioner()->same_as(spate::HashPartitioner(out)));
    require_hash_placement(g, out);
  }
}

TEST_CASE("distinct keeps each distinct record once") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto ints = random_ints(seed, n, 0, 20);
        std::set<int> ref(ints.begin(), ints.end());
        for (auto out : output_partitions(ctx)) {
          CAPTURE(out);
          auto d = ctx.parallelize(ints, parts).distinct(out);
          REQUIRE(d.num_partitions() == (out ? out : parts));
          REQUIRE(same(sorted(d.collect()), std::vector<int>(ref.begin(), ref.end())));
        }
        auto words = random_words(seed, n);
        std::set<std::string> wref(words.begin(), words.end());
        REQUIRE(same(sorted(ctx.parallelize(words, parts).distinct().collect()),
                     std::vector<std::string>(wref.begin(), wref.end())));
        auto pairs = random_pairs(seed, n, 3);
        for (auto& kv : pairs) kv.second %= 3;
        std::set<std::pair<int, int>> pref(pairs.begin(), pairs.end());
        REQUIRE(same(sorted(ctx.parallelize(pairs, parts).distinct(2).collect()),
                     std::vector<std::pair<int, int>>(pref.begin(), pref.end())));
      }
}

TEST_CASE("partition_by moves every record to the partition its HashPartitioner names") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (std::size_t m : pick<std::size_t>(ctx, {1, 2, 5, 13}, {1, 5})) {
          CAPTURE(seed, n, parts, m);
          auto input = random_pairs(seed, n, 30, 0.5);
          auto pb = ctx.parallelize(input, parts).partition_by(spate::HashPartitioner(m));
          REQUIRE(pb.num_partitions() == m);
          REQUIRE(pb.node()->partitioner()->same_as(spate::HashPartitioner(m)));
          require_hash_placement(pb, m);
          REQUIRE(same(sorted(pb.collect()), sorted(input)));
        }
}

TEST_CASE("partition_by keeps each map partition's record order within a reduce partition") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_pairs(2, 200, 10);
  spate::HashPartitioner hp(4);
  std::vector<std::vector<std::pair<int, int>>> expected(4);
  for (auto& kv : input) expected[hp(kv.first)].push_back(kv);
  REQUIRE(same(partitions_of(ctx.parallelize(input, 3).partition_by(hp)), expected));
}

TEST_CASE("partition_by with the partitioner a dataset already has does not shuffle again") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_pairs(6, 100, 10);
  auto pb = ctx.parallelize(input, 3).partition_by(spate::HashPartitioner(4));
  auto again = pb.partition_by(spate::HashPartitioner(4));
  CHECK(again.node() == pb.node());
  auto filtered = pb.filter([](const std::pair<int, int>& kv) { return kv.second > 0; });
  auto again2 = filtered.partition_by(spate::HashPartitioner(4));
  CHECK(again2.node()->shuffle_dependencies().empty());
  auto other = pb.partition_by(spate::HashPartitioner(5));
  CHECK(other.node()->shuffle_dependencies().size() == 1);
  CHECK(same(sorted(again2.collect()), sorted(filtered.collect())));
}

namespace {
/// Sends key k to partition k mod n (keys are non-negative here).
class ModPartitioner final : public spate::PartitionerBase {
 public:
  explicit ModPartitioner(std::size_t n) : n_(n) {}
  std::size_t num_partitions() const noexcept override { return n_; }
  bool same_as(const spate::PartitionerBase& other) const noexcept override {
    auto* o = dynamic_cast<const ModPartitioner*>(&other);
    return o != nullptr && o->n_ == n_;
  }
  std::size_t operator()(int k) const noexcept { return static_cast<std::size_t>(k) % n_; }
  // How the partitioner travels to executors.
  void save_state(spate::Writer& w) const { w.write_varint(n_); }
  static ModPartitioner load_state(spate::Reader& r) { return ModPartitioner(r.read_varint()); }

 private:
  std::size_t n_;
};
}  // namespace

TEST_CASE("partition_by accepts a user partitioner and a RangePartitioner") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto input = random_pairs(8, 250, 40, 0.2);
  for (auto parts : partition_counts(input.size(), ctx)) {
    CAPTURE(parts);
    auto by_mod = partitions_of(ctx.parallelize(input, parts).partition_by(ModPartitioner(6)));
    REQUIRE(by_mod.size() == 6);
    for (std::size_t p = 0; p < 6; ++p)
      for (auto& kv : by_mod[p]) REQUIRE(static_cast<std::size_t>(kv.first) % 6 == p);
    auto by_range = partitions_of(
        ctx.parallelize(input, parts).partition_by(spate::RangePartitioner<int>({9, 20}, true)));
    REQUIRE(by_range.size() == 3);
    std::size_t total = 0;
    for (std::size_t p = 0; p < 3; ++p) {
      total += by_range[p].size();
      for (auto& kv : by_range[p]) {
        int k = kv.first;
        REQUIRE((p == 0 ? k <= 9 : p == 1 ? (k > 9 && k <= 20) : k > 20));
      }
    }
    REQUIRE(total == input.size());
  }
}

TEST_CASE("repartition gives exactly n partitions of near-equal size holding every record") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx))
        for (std::size_t m : pick<std::size_t>(ctx, {1, 2, 3, 10}, {2, 10})) {
          CAPTURE(seed, n, parts, m);
          auto input = random_ints(seed, n, 0, 50);
          auto r = ctx.parallelize(input, parts).repartition(m);
          REQUIRE(r.num_partitions() == m);
          auto got = partitions_of(r);
          std::vector<int> all;
          std::size_t lo = n, hi = 0;
          for (auto& p : got) {
            all.insert(all.end(), p.begin(), p.end());
            lo = std::min(lo, p.size());
            hi = std::max(hi, p.size());
          }
          REQUIRE(same(sorted(all), sorted(input)));
          // Each map partition deals its records round-robin: sizes differ by at most one per
          // map partition.
          REQUIRE(hi - lo <= parts);
        }
}

TEST_CASE("repartition to zero partitions is refused") {
  auto ctx = make_context("local[1]");
  CHECK_THROWS_AS(ctx.parallelize(std::vector<int>{1}, 1).repartition(0), spate::config_error);
}

TEST_CASE("wide operators give the same partition contents and order on every run and master") {
  auto input = random_pairs(12, 500, 25, 0.5);
  auto other = random_pairs(13, 200, 30, 0.2);
  auto full = [&](const std::string& master) {
    auto ctx = make_context(master);
    auto ds = ctx.parallelize(input, 5);
    auto os = ctx.parallelize(other, 3);
    return std::make_tuple(partitions_of(ds.reduce_by_key(std::plus<>{}, 4)),
                           partitions_of(ds.group_by_key(3)), partitions_of(ds.distinct(2)),
                           partitions_of(ds.repartition(6)), partitions_of(ds.join(os, 4)),
                           partitions_of(ds.cogroup(os)), partitions_of(ds.sort_by_key(true, 4)));
  };
  auto a = full("local[1]");
  auto b = full("local[3]");
  auto c = full("local-cluster[3]");
  CHECK(same(std::get<0>(a), std::get<0>(b)));
  CHECK(same(std::get<1>(a), std::get<1>(b)));
  CHECK(same(std::get<2>(a), std::get<2>(b)));
  CHECK(same(std::get<3>(a), std::get<3>(b)));
  CHECK(same(std::get<4>(a), std::get<4>(b)));
  CHECK(same(std::get<5>(a), std::get<5>(b)));
  CHECK(same(std::get<6>(a), std::get<6>(b)));
  CHECK(b == c);  // and in executor processes
}

TEST_CASE("by-key operators treat 0.0 and -0.0 as one key, as operator== does") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  std::vector<std::pair<double, int>> input;
  for (int i = 0; i < 40; ++i) input.emplace_back(i % 2 ? 0.0 : -0.0, 1);
  input.emplace_back(1.5, 1);
  for (std::size_t parts : {1, 3, 8}) {
    CAPTURE(parts);
    auto sums = ctx.parallelize(input, parts).reduce_by_key(std::plus<>{}, 4).collect();
    REQUIRE(sums.size() == 2);
    REQUIRE(same(sorted(sums).front().second, 40));
    REQUIRE(ctx.parallelize(input, parts).keys().distinct().count() == 2);
  }
}

TEST_CASE("reduce_by_key and group_by_key after partition_by keep its partitioner and shuffle only once") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto data = random_pairs(7, 2000, 0, 50);
  std::map<int, long> sums;
  std::map<int, std::size_t> sizes;
  for (auto [k, v] : data) {
    sums[k] += v;
    ++sizes[k];
  }
  spate::HashPartitioner p(5);
  auto parted = ctx.parallelize(data, 3).partition_by(p);
  REQUIRE(parted.partitioner() != nullptr);
  auto kept = parted.reduce_by_key([](int a, int b) { return a + b; });
  REQUIRE(kept.partitioner() != nullptr);
  CHECK(kept.partitioner()->same_as(p));
  CHECK(kept.num_partitions() == 5);
  auto same_count = parted.reduce_by_key([](int a, int b) { return a + b; }, 5);
  CHECK(same_count.partitioner()->same_as(p));
  auto groups = parted.group_by_key();
  CHECK(groups.partitioner()->same_as(p));

  auto before = ctx.engine()->task_attempts().size();
  auto got = kept.collect();
  std::set<int> shuffles;
  auto attempts = ctx.engine()->task_attempts();
  for (std::size_t i = before; i < attempts.size(); ++i)
    if (attempts[i].shuffle >= 0) shuffles.insert(attempts[i].shuffle);
  CHECK(shuffles.size() == 1);  // partition_by's only
  std::map<int, long> got_sums;
  for (auto [k, v] : got) got_sums[k] += v;
  CHECK(got.size() == sums.size());
  std::map<int, long> want(sums.begin(), sums.end());
  CHECK(got_sums == want);
  // Every record of a partition obeys the partitioner: the aggregation stayed in place.
  auto parts = partitions_of(kept);
  for (std::size_t i = 0; i < parts.size(); ++i)
    for (const auto& [k, v] : parts[i]) CHECK(p(k) == i);
  std::map<int, std::size_t> got_sizes;
  for (auto& [k, vs] : groups.collect()) got_sizes[k] = vs.size();
  CHECK(got_sizes == sizes);
  // Another partition count is another partitioning: that shuffles.
  CHECK(parted.reduce_by_key([](int a, int b) { return a + b; }, 3).partitioner()->num_partitions() == 3);
}
