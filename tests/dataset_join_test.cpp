// Tests of cogroup and the join family (inner, left, right and full outer) against nested-loop
// references, with duplicate keys on both sides, keys on one side only, skew and empty inputs,
// and of the rule that co-partitioned inputs are joined without a shuffle.
#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
using std::nullopt;
using std::optional;
using std::string;

using Left = std::pair<int, int>;
using Right = std::pair<int, string>;
using Inner = std::pair<int, std::pair<int, string>>;
using LeftOuter = std::pair<int, std::pair<int, optional<string>>>;
using RightOuter = std::pair<int, std::pair<optional<int>, string>>;
using FullOuter = std::pair<int, std::pair<optional<int>, optional<string>>>;
using Group = std::pair<int, std::pair<std::vector<int>, std::vector<string>>>;

/// Right-side records: keys shifted so that some keys are on one side only; values are text.
std::vector<Right> random_right(std::uint64_t seed, std::size_t n, int num_keys, double skew) {
  std::vector<Right> out;
  for (auto [k, v] : random_pairs(seed, n, num_keys, skew))
    out.emplace_back(k == 0 ? 0 : k + num_keys / 2, "r" + std::to_string(v));
  return out;
}

struct References {
  std::vector<Inner> inner;
  std::vector<LeftOuter> left;
  std::vector<RightOuter> right;
  std::vector<FullOuter> full;
  std::vector<Group> groups;  // by key, each side's values sorted
};

References reference_joins(const std::vector<Left>& l, const std::vector<Right>& r) {
  References ref;
  for (auto& [k, v] : l) {
    bool matched = false;
    for (auto& [k2, w] : r)
      if (k == k2) {
        matched = true;
        ref.inner.push_back({k, {v, w}});
        ref.left.push_back({k, {v, w}});
        ref.right.push_back({k, {v, w}});
        ref.full.push_back({k, {v, w}});
      }
    if (!matched) {
      ref.left.push_back({k, {v, nullopt}});
      ref.full.push_back({k, {v, nullopt}});
    }
  }
  for (auto& [k, w] : r)
    if (std::none_of(l.begin(), l.end(), [k = k](const Left& x) { return x.first == k; })) {
      ref.right.push_back({k, {nullopt, w}});
      ref.full.push_back({k, {nullopt, w}});
    }
  std::map<int, std::pair<std::vector<int>, std::vector<string>>> g;
  for (auto& [k, v] : l) g[k].first.push_back(v);
  for (auto& [k, w] : r) g[k].second.push_back(w);
  for (auto& [k, vw] : g) ref.groups.push_back({k, {sorted(vw.first), sorted(vw.second)}});
  ref.inner = sorted(ref.inner);
  ref.left = sorted(ref.left);
  ref.right = sorted(ref.right);
  ref.full = sorted(ref.full);
  return ref;
}

/// Cogroup output with each side's values sorted, records sorted by key.
std::vector<Group> normalised(std::vector<Group> groups) {
  for (auto& g : groups) {
    g.second.first = sorted(g.second.first);
    g.second.second = sorted(g.second.second);
  }
  return sorted(groups);
}

/// Checks every join kind and cogroup of a and b against the references.
/// `expected_parts` is the result's partition count when the inputs are not partitioned and no
/// count is requested (the larger input's), unless given.
template <class A, class B>
void check_all_joins(const A& a, const B& b, const References& ref, std::size_t partitions,
                     std::size_t expected_parts = 0) {
  if (expected_parts == 0)
    expected_parts = partitions ? partitions : std::max(a.num_partitions(), b.num_partitions());
  auto inner = a.join(b, partitions);
  REQUIRE(inner.num_partitions() == expected_parts);
  REQUIRE(same(sorted(inner.collect()), ref.inner));
  REQUIRE(same(sorted(a.left_outer_join(b, partitions).collect()), ref.left));
  REQUIRE(same(sorted(a.right_outer_join(b, partitions).collect()), ref.right));
  REQUIRE(same(sorted(a.full_outer_join(b, partitions).collect()), ref.full));
  auto groups = a.cogroup(b, partitions);
  REQUIRE(groups.num_partitions() == expected_parts);
  REQUIRE(same(normalised(groups.collect()), ref.groups));
}

}  // namespace

TEST_CASE("every join kind and cogroup match nested-loop references for any partition counts") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto lparts : partition_counts(n, ctx))
        for (std::size_t rparts : pick<std::size_t>(ctx, {1, 3}, {3})) {
          CAPTURE(seed, n, lparts, rparts);
          auto l = random_pairs(seed, n, 12);
          auto r = random_right(seed + 50, n / 2 + 3, 12, 0.0);
          auto ref = reference_joins(l, r);
          auto a = ctx.parallelize(l, lparts);
          auto b = ctx.parallelize(r, rparts);
          for (std::size_t out : pick<std::size_t>(ctx, {0, 1, 5}, {0, 5})) {
            CAPTURE(out);
            check_all_joins(a, b, ref, out);
          }
        }
}

TEST_CASE("joins pair every duplicate of a key on one side with every duplicate on the other") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : partition_counts(120, ctx)) {
      CAPTURE(seed, parts);
      // Key 0 holds most records on both sides: its inner join is a large cross product.
      auto l = random_pairs(seed, 120, 6, 0.7);
      auto r = random_right(seed + 7, 80, 6, 0.6);
      auto ref = reference_joins(l, r);
      check_all_joins(ctx.parallelize(l, parts), ctx.parallelize(r, 2), ref, 0);
    }
}

TEST_CASE("joins with an empty side keep or drop the other side's records as their kind says") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(3, 50, 8);
  auto r = random_right(4, 40, 8, 0.0);
  for (auto parts : {std::size_t{1}, std::size_t{4}}) {
    CAPTURE(parts);
    auto a = ctx.parallelize(l, parts);
    auto b = ctx.parallelize(r, parts);
    auto no_l = ctx.parallelize(std::vector<Left>{}, parts);
    auto no_r = ctx.parallelize(std::vector<Right>{}, 2);
    check_all_joins(a, no_r, reference_joins(l, {}), 0);
    check_all_joins(no_l, b, reference_joins({}, r), 0);
    check_all_joins(no_l, no_r, reference_joins({}, {}), 3);
  }
}

TEST_CASE("a join of two datasets with the same partitioner reads both without a shuffle") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx)) {
    CAPTURE(seed);
    auto l = random_pairs(seed, 200, 15, 0.3);
    auto r = random_right(seed + 1, 150, 15, 0.3);
    auto ref = reference_joins(l, r);
    spate::HashPartitioner hp(4);
    auto a = ctx.parallelize(l, 3).partition_by(hp);
    auto b = ctx.parallelize(r, 5).partition_by(hp);
    auto g = a.cogroup(b);
    CHECK(g.node()->name() == "cogroup");
    CHECK(g.node()->shuffle_dependencies().empty());
    CHECK(g.node()->narrow_parents().size() == 2);
    CHECK(g.num_partitions() == 4);
    // The join is a narrow op over such a cogroup node.
    auto j = a.join(b);
    auto jn = j.node();
    REQUIRE(jn->narrow_parents().size() == 1);
    auto cg = jn->narrow_parents().front();
    CHECK(cg->name() == "cogroup");
    CHECK(cg->shuffle_dependencies().empty());
    CHECK(cg->narrow_parents().size() == 2);
    REQUIRE(j.node()->partitioner() != nullptr);
    CHECK(j.node()->partitioner()->same_as(hp));
    check_all_joins(a, b, ref, 0);
    check_all_joins(a, b, ref, 4);  // the same count as the partitioner: still no shuffle
    CHECK(a.join(b, 4).node()->narrow_parents().front()->shuffle_dependencies().empty());
  }
}

TEST_CASE("a join of two reduce_by_key results with equal partition counts does not shuffle") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(21, 300, 20, 0.2);
  auto r = random_pairs(22, 100, 30, 0.0);
  auto a = ctx.parallelize(l, 3).reduce_by_key(std::plus<>{}, 5);
  auto b = ctx.parallelize(r, 2).reduce_by_key(std::plus<>{}, 5).map_values([](int v) {
    return std::to_string(v);
  });
  auto g = a.cogroup(b);
  CHECK(g.node()->shuffle_dependencies().empty());
  CHECK(g.node()->narrow_parents().size() == 2);
  auto ref = reference_joins(a.collect(), b.collect());
  check_all_joins(a, b, ref, 0);
}

TEST_CASE("a join with one hash-partitioned side shuffles only the other side and keeps the partitioning") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(31, 200, 15, 0.3);
  auto r = random_right(32, 150, 15, 0.3);
  auto ref = reference_joins(l, r);
  spate::HashPartitioner hp(6);
  auto part_l = ctx.parallelize(l, 2).partition_by(hp);
  auto plain_r = ctx.parallelize(r, 3);
  for (auto g : {part_l.cogroup(plain_r).node()}) {
    CHECK(g->shuffle_dependencies().size() == 1);
    CHECK(g->narrow_parents().size() == 1);
    CHECK(g->num_partitions() == 6);
    REQUIRE(g->partitioner() != nullptr);
    CHECK(g->partitioner()->same_as(hp));
  }
  check_all_joins(part_l, plain_r, ref, 0);
  // The partitioned side may be the right one.
  auto plain_l = ctx.parallelize(l, 4);
  auto part_r = ctx.parallelize(r, 3).partition_by(hp);
  auto g = plain_l.cogroup(part_r).node();
  CHECK(g->shuffle_dependencies().size() == 1);
  CHECK(g->narrow_parents().size() == 1);
  CHECK(g->partitioner()->same_as(hp));
  check_all_joins(plain_l, part_r, ref, 0);
}

TEST_CASE("a join keeps the partitioned side's partitioning even when the other side has more partitions") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(35, 200, 15, 0.3);
  auto r = random_right(36, 150, 15, 0.3);
  auto ref = reference_joins(l, r);
  spate::HashPartitioner two(2);
  auto part_l = ctx.parallelize(l, 3).partition_by(two);
  auto plain_r = ctx.parallelize(r, 7);
  auto g = part_l.cogroup(plain_r);
  CHECK(g.num_partitions() == 2);
  CHECK(g.node()->shuffle_dependencies().size() == 1);
  CHECK(g.node()->partitioner()->same_as(two));
  check_all_joins(part_l, plain_r, ref, 0, 2);
  // Two hash-partitioned sides with different counts: the left one is kept, the right shuffled.
  auto part_r = ctx.parallelize(r, 2).partition_by(spate::HashPartitioner(5));
  auto g2 = part_l.cogroup(part_r);
  CHECK(g2.num_partitions() == 2);
  CHECK(g2.node()->shuffle_dependencies().size() == 1);
  CHECK(g2.node()->narrow_parents().size() == 1);
  check_all_joins(part_l, part_r, ref, 0, 2);
}

TEST_CASE("a join of unpartitioned datasets shuffles both into the requested partition count") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(41, 150, 10, 0.2);
  auto r = random_right(42, 120, 10, 0.2);
  auto a = ctx.parallelize(l, 3);
  auto b = ctx.parallelize(r, 5);
  auto g = a.cogroup(b);
  CHECK(g.node()->shuffle_dependencies().size() == 2);
  CHECK(g.num_partitions() == 5);
  for (std::size_t out : {1, 2, 7}) {
    CAPTURE(out);
    auto j = a.join(b, out);
    REQUIRE(j.num_partitions() == out);
    spate::HashPartitioner hp(out);
    REQUIRE(j.node()->partitioner()->same_as(hp));
    auto parts = partitions_of(j);
    for (std::size_t p = 0; p < parts.size(); ++p)
      for (auto& rec : parts[p]) REQUIRE(hp(rec.first) == p);
  }
  // A partitioned side whose count differs from the requested one is shuffled too.
  auto pa = a.partition_by(spate::HashPartitioner(4));
  auto pb = b.partition_by(spate::HashPartitioner(4));
  auto g3 = pa.cogroup(pb, 3);
  CHECK(g3.num_partitions() == 3);
  CHECK(g3.node()->shuffle_dependencies().size() == 2);
  check_all_joins(pa, pb, reference_joins(l, r), 3);
}

TEST_CASE("a self-join of a partitioned dataset pairs each key's values with themselves") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(51, 100, 10, 0.2);
  std::vector<Inner> expected;
  for (auto& [k, v] : l)
    for (auto& [k2, w] : l)
      if (k == k2) expected.push_back({k, {v, std::to_string(w)}});
  auto a = ctx.parallelize(l, 3).partition_by(spate::HashPartitioner(3));
  auto b = a.map_values([](int w) { return std::to_string(w); });
  CHECK(a.cogroup(b).node()->shuffle_dependencies().empty());
  REQUIRE(same(sorted(a.join(b).collect()), sorted(expected)));
}

TEST_CASE("cogroup lists every key of either side once, never with both sides empty") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes) {
      CAPTURE(seed, n);
      auto l = random_pairs(seed, n, 9, 0.4);
      auto r = random_right(seed + 3, n, 9, 0.4);
      auto groups = ctx.parallelize(l, 3).cogroup(ctx.parallelize(r, 2), 4).collect();
      std::map<int, int> seen;
      for (auto& [k, vw] : groups) {
        REQUIRE(++seen[k] == 1);
        REQUIRE(!(vw.first.empty() && vw.second.empty()));
      }
      REQUIRE(same(normalised(groups), reference_joins(l, r).groups));
    }
}

TEST_CASE("a join of two datasets range-partitioned alike by sort_by_key reads both without a shuffle") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto l = random_pairs(61, 300, 40, 0.2);
  auto sorted_l = ctx.parallelize(l, 4).sort_by_key(true, 3);
  auto right = sorted_l.map_values([](int v) { return std::to_string(v); });
  auto g = sorted_l.cogroup(right);
  CHECK(g.node()->shuffle_dependencies().empty());
  std::vector<Right> r;
  for (auto& [k, v] : l) r.emplace_back(k, std::to_string(v));
  check_all_joins(sorted_l, right, reference_joins(l, r), 0);
}

TEST_CASE("union and join of datasets from two contexts are refused with spate::error") {
  // Each context numbers its shuffles and nodes from 0, so a job of one context cannot read the
  // other's blocks; spate refuses the mix, as Spark does, instead of risking a mix-up.
  auto master = SPATE_TEST_MASTER();
  auto one = make_context(master);
  spate::Context two(spate::Options{.master = master});  // a context of its own
  std::vector<Left> l{{1, 1}, {1, 2}, {2, 5}};
  std::vector<Left> r{{7, 1}, {7, 1}, {8, 1}, {1, 10}};
  auto a = one.parallelize(l, 2).reduce_by_key(std::plus<>{});
  auto b = two.parallelize(r, 2).reduce_by_key(std::plus<>{});
  REQUIRE(same(sorted(a.collect()), std::vector<Left>{{1, 3}, {2, 5}}));
  REQUIRE(same(sorted(b.collect()), std::vector<Left>{{1, 10}, {7, 2}, {8, 1}}));
  REQUIRE_THROWS_WITH(a.union_with(b), Catch::Contains("different Contexts"));
  REQUIRE_THROWS_WITH(a.join(b), Catch::Contains("different Contexts"));
}
