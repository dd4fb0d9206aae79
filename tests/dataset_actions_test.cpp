// Tests of the actions (collect, count, reduce, fold, aggregate, take, first, top, take_ordered,
// count_by_key, count_by_value, foreach, foreach_partition, save_as_text_file) against references
// computed with the standard library, for every partition count, in local[1] and local[3].
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
namespace fs = std::filesystem;

/// The names in dir, sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return sorted(names);
}

/// "part-00000", "part-00001", ... for n parts, and "_SUCCESS".
std::vector<std::string> expected_entries(std::size_t n) {
  std::vector<std::string> names{"_SUCCESS"};
  for (std::size_t p = 0; p < n; ++p) {
    std::string num = std::to_string(p);
    names.push_back("part-" + std::string(5 - std::min<std::size_t>(5, num.size()), '0') + num);
  }
  return sorted(names);
}

/// The lines of every part file of dir, in part order.
std::vector<std::string> read_parts(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& name : entries(dir))
    if (name.starts_with("part-"))
      for (auto& l : lines_of(read_file(dir + "/" + name))) lines.push_back(std::move(l));
  return lines;
}

}  // namespace

TEST_CASE("collect returns every record in partition order and count counts them") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -10, 10);
        auto ds = ctx.parallelize(input, parts);
        REQUIRE(same(ds.collect(), input));
        REQUIRE(ds.count() == n);
        auto positive = std::count_if(input.begin(), input.end(), [](int x) { return x > 0; });
        REQUIRE(ds.filter([](int x) { return x > 0; }).count() == static_cast<std::size_t>(positive));
      }
}

TEST_CASE("reduce merges all records, and throws spate::error on an empty dataset") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -1000, 1000);
        auto ds = ctx.parallelize(input, parts);
        if (input.empty()) {
          REQUIRE_THROWS_AS(ds.reduce(std::plus<>{}), spate::error);
          continue;
        }
        REQUIRE(ds.reduce(std::plus<>{}) == std::accumulate(input.begin(), input.end(), 0));
        REQUIRE(ds.reduce([](int a, int b) { return std::max(a, b); }) ==
                *std::max_element(input.begin(), input.end()));
        REQUIRE_THROWS_AS(ds.filter([](int) { return false; }).reduce(std::plus<>{}), spate::error);
      }
}

TEST_CASE("reduce on an empty dataset names the problem in its message") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  REQUIRE_THROWS_WITH(ctx.parallelize(std::vector<int>{}, 3).reduce(std::plus<>{}),
                      Catch::Contains("empty"));
}

TEST_CASE("fold starts each partition and the final merge from a copy of zero") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        auto ds = ctx.parallelize(input, parts);
        int sum = std::accumulate(input.begin(), input.end(), 0);
        REQUIRE(ds.fold(0, std::plus<>{}) == sum);
        // A zero that is not neutral is added once per partition and once more at the end.
        REQUIRE(ds.fold(10, std::plus<>{}) == sum + 10 * static_cast<int>(parts + 1));
      }
}

TEST_CASE("aggregate folds records into another type and merges partition results") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        auto ds = ctx.parallelize(input, parts);
        using SumCount = std::pair<long, std::size_t>;
        auto sc = ds.aggregate(
            SumCount{0, 0}, [](SumCount z, int x) { return SumCount{z.first + x, z.second + 1}; },
            [](SumCount a, SumCount b) { return SumCount{a.first + b.first, a.second + b.second}; });
        REQUIRE(sc.first == std::accumulate(input.begin(), input.end(), 0L));
        REQUIRE(sc.second == n);
        // The zero is copied for each partition, never shared.
        auto all = ds.aggregate(
            std::vector<int>{},
            [](std::vector<int> z, int x) {
              z.push_back(x);
              return z;
            },
            [](std::vector<int> a, std::vector<int> b) {
              a.insert(a.end(), b.begin(), b.end());
              return a;
            });
        REQUIRE(same(all, input));
      }
}

TEST_CASE("take returns the first n records in partition order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -50, 50);
        auto ds = ctx.parallelize(input, parts);
        REQUIRE(ds.take(0).empty());
        for (std::size_t k : {std::size_t{1}, n / 2, n, n + 1, 3 * n + 10}) {
          CAPTURE(k);
          std::vector<int> want(input.begin(), input.begin() + std::min(k, n));
          REQUIRE(same(ds.take(k), want));
        }
        // Leading partitions left empty by a filter are skipped.
        std::vector<int> tail;
        for (std::size_t i = n / 2; i < n; ++i) tail.push_back(input[i]);
        auto late = ctx.parallelize(input, parts)
                        .zip_with_index()
                        .filter([n](const std::pair<int, std::uint64_t>& x) { return x.second >= n / 2; })
                        .map([](const std::pair<int, std::uint64_t>& x) { return x.first; });
        for (std::size_t k : {std::size_t{1}, std::size_t{5}, n}) {
          CAPTURE(k);
          REQUIRE(same(late.take(k), std::vector<int>(tail.begin(), tail.begin() + std::min(k, tail.size()))));
        }
      }
}

TEST_CASE("first returns the first record and throws spate::error on an empty dataset") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, 0, 100);
        auto ds = ctx.parallelize(input, parts);
        if (n == 0) {
          REQUIRE_THROWS_AS(ds.first(), spate::error);
        } else {
          REQUIRE(ds.first() == input.front());
          REQUIRE(ds.map([](int x) { return std::to_string(x); }).first() == std::to_string(input.front()));
          auto last = ds.zip_with_index().filter(
              [n](const std::pair<int, std::uint64_t>& x) { return x.second + 1 == n; });
          REQUIRE(last.first().first == input.back());
        }
        REQUIRE_THROWS_AS(ds.filter([](int) { return false; }).first(), spate::error);
      }
}

TEST_CASE("top returns the n largest records, largest first") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -30, 30);
        auto ds = ctx.parallelize(input, parts);
        auto desc = sorted(input);
        std::reverse(desc.begin(), desc.end());
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{5}, n, n + 4}) {
          CAPTURE(k);
          REQUIRE(same(ds.top(k), std::vector<int>(desc.begin(), desc.begin() + std::min(k, n))));
          // With std::greater as "less", the "largest" are the smallest.
          auto asc = sorted(input);
          REQUIRE(same(ds.top(k, std::greater<int>{}),
                       std::vector<int>(asc.begin(), asc.begin() + std::min(k, n))));
        }
      }
}

TEST_CASE("take_ordered returns the n smallest records by the comparator, smallest first") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -30, 30);
        auto ds = ctx.parallelize(input, parts);
        auto asc = sorted(input);
        auto desc = asc;
        std::reverse(desc.begin(), desc.end());
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{7}, n, n + 4}) {
          CAPTURE(k);
          auto m = std::min(k, n);
          REQUIRE(same(ds.take_ordered(k), std::vector<int>(asc.begin(), asc.begin() + m)));
          REQUIRE(same(ds.take_ordered(k, std::greater<int>{}), std::vector<int>(desc.begin(), desc.begin() + m)));
        }
        // A comparator on part of the record: shortest words first; equally long words tie, so
        // compare only the lengths.
        auto words = random_words(seed, n);
        auto shorter = [](const std::string& a, const std::string& b) { return a.size() < b.size(); };
        auto got = ctx.parallelize(words, parts).take_ordered(5, shorter);
        std::vector<std::size_t> got_len, want_len;
        for (auto& w : got) got_len.push_back(w.size());
        for (auto& w : words) want_len.push_back(w.size());
        want_len = sorted(want_len);
        want_len.resize(std::min<std::size_t>(5, n));
        REQUIRE(same(got_len, want_len));
      }
}

TEST_CASE("count_by_key and count_by_value count records per key and per distinct record") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto pairs = random_pairs(seed, n, 8, 0.5);
        std::map<int, std::size_t> per_key;
        for (auto& kv : pairs) ++per_key[kv.first];
        REQUIRE(same(ctx.parallelize(pairs, parts).count_by_key(), per_key));
        auto words = random_words(seed, n);
        std::map<std::string, std::size_t> per_word;
        for (auto& w : words) ++per_word[w];
        REQUIRE(same(ctx.parallelize(words, parts).count_by_value(), per_word));
        std::map<std::pair<int, int>, std::size_t> per_pair;
        for (auto& kv : pairs) ++per_pair[{kv.first, kv.second % 2}];
        auto halves = ctx.parallelize(pairs, parts).map([](std::pair<int, int> kv) {
          return std::pair<int, int>(kv.first, kv.second % 2);
        });
        REQUIRE(same(halves.count_by_value(), per_pair));
      }
}

TEST_CASE("foreach calls f once for every record") {
  // The function captures a pointer to a mutex-protected vector: that works in local mode only
  // (in cluster modes the pointer means nothing in an executor process).
  struct Seen {
    std::mutex mutex;
    std::vector<int> records;
  };
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        Seen seen;
        Seen* s = &seen;
        ctx.parallelize(input, parts).map([](int x) { return x * 2; }).foreach([s](int x) {
          std::lock_guard lock(s->mutex);
          s->records.push_back(x);
        });
        std::vector<int> want;
        for (int x : input) want.push_back(x * 2);
        REQUIRE(same(sorted(seen.records), sorted(want)));
      }
}

TEST_CASE("foreach_partition hands each partition's records, in order, with the partition index") {
  // Captures a pointer: local mode only, as above.
  struct Seen {
    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::vector<int>>> parts;
  };
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto input = random_ints(seed, n, -100, 100);
        Seen seen;
        Seen* s = &seen;
        ctx.parallelize(input, parts).foreach_partition([s](std::size_t p, std::vector<int> records) {
          std::lock_guard lock(s->mutex);
          s->parts.emplace_back(p, std::move(records));
        });
        // parallelize promises contiguous slices of near-equal size.
        std::vector<std::pair<std::size_t, std::vector<int>>> want;
        for (std::size_t p = 0; p < parts; ++p)
          want.emplace_back(p, std::vector<int>(input.begin() + p * n / parts,
                                                input.begin() + (p + 1) * n / parts));
        REQUIRE(same(sorted(seen.parts), want));
      }
}

TEST_CASE("save_as_text_file writes one part per partition in order, then _SUCCESS") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        TempDir tmp;
        auto input = random_ints(seed, n, -1000, 1000);
        std::string dir = tmp.file("out");
        ctx.parallelize(input, parts).save_as_text_file(dir);
        REQUIRE(same(entries(dir), expected_entries(parts)));
        REQUIRE(read_file(dir + "/_SUCCESS").empty());
        std::vector<std::string> want;
        for (int x : input) want.push_back(std::to_string(x));
        REQUIRE(same(read_parts(dir), want));
        // Each part holds exactly its partition.
        for (std::size_t p = 0; p < parts; ++p) {
          std::vector<std::string> slice(want.begin() + p * n / parts, want.begin() + (p + 1) * n / parts);
          REQUIRE(same(lines_of(read_file(dir + "/" + expected_entries(parts)[p + 1])), slice));
        }
      }
}

TEST_CASE("save_as_text_file writes pairs as tab-separated fields and empty optionals as empty") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::vector<std::pair<std::string, int>> pairs{{"a", 1}, {"b", -2}, {"c d", 3}};
  ctx.parallelize(pairs, 2).save_as_text_file(tmp.file("pairs"));
  REQUIRE(same(read_parts(tmp.file("pairs")), std::vector<std::string>{"a\t1", "b\t-2", "c d\t3"}));

  auto left = ctx.parallelize(std::vector<std::pair<int, int>>{{1, 10}, {2, 20}}, 1);
  auto right = ctx.parallelize(std::vector<std::pair<int, std::string>>{{1, "x"}}, 1);
  left.left_outer_join(right, 1).save_as_text_file(tmp.file("join"));
  REQUIRE(same(sorted(read_parts(tmp.file("join"))), std::vector<std::string>{"1\t10\tx", "2\t20\t"}));

  std::vector<std::tuple<int, std::string, double, bool>> tuples{{1, "a", 2.5, true}, {-3, "", 0.0, false}};
  ctx.parallelize(tuples, 2).save_as_text_file(tmp.file("tuples"));
  REQUIRE(same(read_parts(tmp.file("tuples")), std::vector<std::string>{"1\ta\t2.5\ttrue", "-3\t\t0\tfalse"}));

  ctx.parallelize(std::vector<std::string>{"x y", "", "z"}, 2).save_as_text_file(tmp.file("strings"));
  REQUIRE(same(read_parts(tmp.file("strings")), std::vector<std::string>{"x y", "", "z"}));
}

TEST_CASE("save_as_text_file with a format function writes format(record) per line") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto input = random_ints(3, 60, 0, 99);
  ctx.parallelize(input, 4).save_as_text_file(tmp.file("out"), [](const int& x) {
    return "<" + std::to_string(x) + ">";
  });
  std::vector<std::string> want;
  for (int x : input) want.push_back("<" + std::to_string(x) + ">");
  REQUIRE(same(read_parts(tmp.file("out")), want));
  REQUIRE(fs::exists(tmp.file("out/_SUCCESS")));
}

TEST_CASE("save_as_text_file refuses an existing non-empty directory and leaves it untouched") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("out");
  fs::create_directories(dir);
  write_file(dir + "/keep.txt", "precious\n");
  auto ds = ctx.parallelize(std::vector<int>{1, 2, 3}, 2);
  REQUIRE_THROWS_AS(ds.save_as_text_file(dir), spate::io_error);
  REQUIRE(same(entries(dir), std::vector<std::string>{"keep.txt"}));
  REQUIRE(read_file(dir + "/keep.txt") == "precious\n");
  // A second save to a finished output directory is refused too.
  ds.save_as_text_file(tmp.file("done"));
  REQUIRE_THROWS_AS(ds.save_as_text_file(tmp.file("done")), spate::io_error);
  REQUIRE(same(read_parts(tmp.file("done")), std::vector<std::string>{"1", "2", "3"}));
}

TEST_CASE("save_as_text_file refuses a path that is a regular file") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  write_file(tmp.file("file"), "data\n");
  REQUIRE_THROWS_AS(ctx.parallelize(std::vector<int>{1}, 1).save_as_text_file(tmp.file("file")),
                    spate::io_error);
  REQUIRE(read_file(tmp.file("file")) == "data\n");
}

TEST_CASE("save_as_text_file accepts an existing empty directory") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("empty");
  fs::create_directories(dir);
  ctx.parallelize(std::vector<int>{4, 5}, 3).save_as_text_file(dir);
  REQUIRE(same(entries(dir), expected_entries(3)));
  REQUIRE(same(read_parts(dir), std::vector<std::string>{"4", "5"}));
}
