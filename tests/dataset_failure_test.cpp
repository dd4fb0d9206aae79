// Tests of task failures seen through the Dataset API: a user function that keeps throwing fails
// the job with spate::job_error (message, stage, partition, attempt) after the retries; one that
// throws once is retried and the job's answer is still right. Functions that count attempts
// capture an std::atomic by pointer, which works in local mode only.
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;

/// 40 records in 4 partitions of 10: record i is in partition i / 10.
std::vector<int> forty() {
  std::vector<int> v(40);
  for (int i = 0; i < 40; ++i) v[i] = i;
  return v;
}

}  // namespace

TEST_CASE("a function that always throws fails the job with job_error after every attempt") {
  auto master = SPATE_LOCAL_TEST_MASTER();
  auto ctx = make_context(master, 3);
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto ds = ctx.parallelize(forty(), 4).map([c](int x) {
    if (x == 25) {
      c->fetch_add(1);
      throw std::runtime_error("bad record 25");
    }
    return x;
  });
  try {
    ds.collect();
    FAIL("collect did not throw");
  } catch (const spate::job_error& e) {
    CHECK(e.user_message() == "bad record 25");
    CHECK(e.op() == "map");
    CHECK(e.partition() == 2);
    CHECK(e.attempt() == 3);
    CHECK_THAT(std::string(e.what()), Catch::Contains("in map: bad record 25"));
    CHECK_THAT(std::string(e.what()), Catch::Contains("attempt 3"));
    CHECK(e.stage() >= 0);
    std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("bad record 25"));
    CHECK_THAT(what, Catch::Contains("stage " + std::to_string(e.stage())));
    CHECK_THAT(what, Catch::Contains("partition 2"));
  }
  CHECK(calls.load() == 3);
}

TEST_CASE("a function that throws in a map stage names that stage's failing partition") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master, 2);
  auto ds = ctx.parallelize(forty(), 4)
                .map([](int x) {
                  if (x == 7) throw std::runtime_error("cannot key record 7");
                  return std::pair<int, int>(x % 5, x);
                })
                .reduce_by_key(std::plus<>{}, 3);
  try {
    ds.count();
    FAIL("count did not throw");
  } catch (const spate::job_error& e) {
    CHECK(e.user_message() == "cannot key record 7");
    CHECK(e.partition() == 0);  // map partition 0 holds records 0..9
    CHECK(e.attempt() == 2);
    CHECK_THAT(std::string(e.what()), Catch::Contains("cannot key record 7"));
  }
}

TEST_CASE("a reduce_by_key function that throws fails the job with its message") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 2);
  auto input = random_pairs(1, 200, 5);
  auto ds = ctx.parallelize(input, 4).reduce_by_key([](int a, int b) -> int {
    if (a + b > 1000000) return 0;
    throw std::logic_error("reducer refuses");
  });
  REQUIRE_THROWS_AS(ds.collect(), spate::job_error);
  REQUIRE_THROWS_WITH(ds.collect(), Catch::Contains("reducer refuses"));
}

TEST_CASE("a function that throws only on its first attempt is retried and the job succeeds") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER(), 3);
  for (auto parts : partition_counts(60, ctx)) {
    CAPTURE(parts);
    auto input = random_pairs(parts, 60, 7, 0.4);
    std::atomic<int> calls{0};
    auto* c = &calls;
    auto flaky = [c](std::pair<int, int> kv) {
      if (c->fetch_add(1) == 0) throw std::runtime_error("transient failure");
      return kv;
    };
    // A result stage.
    REQUIRE(same(ctx.parallelize(input, parts).map(flaky).collect(), input));
    // A map stage: the retried map task must not write its records twice.
    calls = 0;
    std::map<int, int> ref;
    for (auto [k, v] : input) ref[k] += v;
    auto sums = ctx.parallelize(input, parts).map(flaky).reduce_by_key(std::plus<>{}, 4).collect();
    REQUIRE(same(sorted(sums), std::vector<std::pair<int, int>>(ref.begin(), ref.end())));
    calls = 0;
    auto groups = ctx.parallelize(input, parts).map(flaky).group_by_key(3).collect();
    std::size_t values = 0;
    for (auto& g : groups) values += g.second.size();
    REQUIRE(values == input.size());
    // A cached dataset: the failed attempt must not leave a partial block behind.
    calls = 0;
    auto cached = ctx.parallelize(input, parts).map(flaky).cache();
    REQUIRE(same(cached.collect(), input));
    REQUIRE(same(cached.collect(), input));
  }
}

TEST_CASE("with task_attempts = 1 the first failure fails the job") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER(), 1);
  std::atomic<int> calls{0};
  auto* c = &calls;
  auto ds = ctx.parallelize(forty(), 4).map([c](int x) {
    if (c->fetch_add(1) == 0) throw std::runtime_error("once");
    return x;
  });
  try {
    ds.count();
    FAIL("count did not throw");
  } catch (const spate::job_error& e) {
    CHECK(e.attempt() == 1);
    CHECK(e.user_message() == "once");
  }
}

TEST_CASE("a failed job leaves the context usable and its datasets recomputable") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER(), 2);
  std::atomic<bool> broken{true};
  auto* b = &broken;
  auto ds = ctx.parallelize(forty(), 4).map([b](int x) {
    if (x == 33 && b->load()) throw std::runtime_error("broken for now");
    return std::pair<int, int>(x % 4, x);
  });
  auto sums = ds.reduce_by_key(std::plus<>{});
  REQUIRE_THROWS_AS(sums.collect(), spate::job_error);
  broken = false;
  std::map<int, int> ref;
  for (int x : forty()) ref[x % 4] += x;
  REQUIRE(same(sorted(sums.collect()), std::vector<std::pair<int, int>>(ref.begin(), ref.end())));
  REQUIRE(ctx.parallelize(forty(), 3).count() == 40);
}

TEST_CASE("a failed save_as_text_file leaves no part files and no _SUCCESS marker") {
  auto ctx = make_context(SPATE_TEST_MASTER(), 2);
  TempDir tmp;
  std::string dir = tmp.file("out");
  auto ds = ctx.parallelize(forty(), 4).map([](int x) {
    if (x == 35) throw std::runtime_error("cannot format 35");
    return x;
  });
  REQUIRE_THROWS_AS(ds.save_as_text_file(dir), spate::job_error);
  std::vector<std::string> left;
  if (std::filesystem::exists(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      left.push_back(e.path().filename().string());
  REQUIRE(same(left, std::vector<std::string>{}));
  // The directory may be written again by a job that succeeds.
  ctx.parallelize(forty(), 4).save_as_text_file(dir);
  REQUIRE(std::filesystem::exists(dir + "/_SUCCESS"));
}

TEST_CASE("a function that throws something not derived from std::exception fails its task, not its process") {
  // The same failure must read the same in every master: a task failure described by the engine
  // (there is no message to carry), not the loss of the executor process that ran it.
  auto master = SPATE_TEST_MASTER();
  auto thrower = [](int x) {
    if (x == 3) throw 42;
    return x;
  };
  // Contexts of their own: a lost executor must not weaken the contexts other tests share.
  auto failure_of = [&](const std::string& m) -> std::optional<spate::job_error> {
    spate::Context ctx(spate::Options{.master = m, .task_attempts = 2});
    try {
      ctx.parallelize(forty(), 2).map(thrower).count();
    } catch (const spate::job_error& e) {
      return e;
    }
    return std::nullopt;
  };
  auto reference = failure_of("local[1]");
  REQUIRE(reference.has_value());
  CHECK_FALSE(reference->user_message().empty());
  auto got = failure_of(master);
  REQUIRE(got.has_value());
  CHECK(got->partition() == 0);
  CHECK(got->attempt() == 2);
  CHECK(got->user_message() == reference->user_message());
  // The context still runs jobs afterwards.
  spate::Context ctx(spate::Options{.master = master, .task_attempts = 2});
  REQUIRE_THROWS_AS(ctx.parallelize(forty(), 2).map(thrower).count(), spate::job_error);
  REQUIRE(ctx.parallelize(forty(), 4).count() == 40);
}

TEST_CASE("a save_as_text_file whose task fails once is retried and commits each part once") {
  auto ctx = make_context(SPATE_LOCAL_TEST_MASTER(), 3);
  TempDir tmp;
  std::string dir = tmp.file("out");
  std::atomic<int> calls{0};
  auto* c = &calls;
  // Fails after writing some lines of its part, on the first attempt only.
  ctx.parallelize(forty(), 4)
      .map([c](int x) {
        if (x == 15 && c->fetch_add(1) == 0) throw std::runtime_error("transient");
        return x;
      })
      .save_as_text_file(dir);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  REQUIRE(same(sorted(names), std::vector<std::string>{"_SUCCESS", "part-00000", "part-00001",
                                                        "part-00002", "part-00003"}));
  std::vector<std::string> lines;
  for (int p = 0; p < 4; ++p)
    for (auto& l : lines_of(read_file(dir + "/part-0000" + std::to_string(p)))) lines.push_back(l);
  std::vector<std::string> want;
  for (int x : forty()) want.push_back(std::to_string(x));
  REQUIRE(same(lines, want));
}

TEST_CASE("a failed job names the operator of the fused stage whose function threw") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master, 2);
  // map, filter and flat_map run fused in one stage: the error must say which one threw.
  auto ds = ctx.parallelize(forty(), 4)
                .map([](int x) { return x * 2; })
                .filter([](int x) {
                  if (x == 30) throw std::runtime_error("filter refuses 30");
                  return true;
                })
                .flat_map([](int x) { return std::vector<int>{x, x}; });
  try {
    ds.count();
    FAIL("count did not throw");
  } catch (const spate::job_error& e) {
    CHECK(e.op() == "filter");
    CHECK(e.user_message() == "filter refuses 30");
    CHECK(e.partition() == 1);
    CHECK_THAT(std::string(e.what()), Catch::Contains("(map.filter.flat_map <- parallelize)"));
    CHECK_THAT(std::string(e.what()), Catch::Contains("in filter: filter refuses 30"));
  }
}
