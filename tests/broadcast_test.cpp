// Tests of broadcast values: tasks read them in every master, and an executor fetches each value
// from the driver once, however many tasks read it.
#include <map>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {
using namespace spate_test;
}  // namespace

TEST_CASE("tasks read a broadcast value") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  std::map<int, std::string> names{{0, "zero"}, {1, "one"}, {2, "two"}};
  auto lookup = ctx.broadcast(names);
  auto out = ctx.parallelize(std::vector<int>{0, 1, 2, 1, 0, 2, 2}, 3)
                 .map([lookup](int x) { return lookup.value().at(x); })
                 .collect();
  CHECK(out == std::vector<std::string>{"zero", "one", "two", "one", "zero", "two", "two"});
  CHECK(lookup->size() == 3);  // the driver reads its own value
}

TEST_CASE("a broadcast value is fetched at most once per executor") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  std::vector<long> big(1 << 20);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<long>(i * 3);
  auto table = ctx.broadcast(std::move(big));
  auto sent_before = ctx.engine()->counter("broadcast.sent");
  std::vector<int> keys;
  for (int i = 0; i < 200; ++i) keys.push_back(i * 5000);
  auto ds = ctx.parallelize(keys, 20).map([table](int k) { return table.value()[static_cast<std::size_t>(k)]; });
  for (int round = 0; round < 2; ++round) {
    auto out = ds.collect();
    REQUIRE(out.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) CHECK(out[i] == keys[i] * 3L);
  }
  auto sent = ctx.engine()->counter("broadcast.sent") - sent_before;
  if (in_processes(ctx)) {
    CHECK(sent >= 1);
    CHECK(sent <= 3);  // local-cluster[3]: one per executor at most
  } else {
    CHECK(sent == 0);  // tasks in the driver read the value in place
  }
}

TEST_CASE("broadcast values of several types are told apart by their handles") {
  auto master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  auto word = ctx.broadcast(std::string("spate"));
  auto factor = ctx.broadcast(3);
  auto out = ctx.parallelize(std::vector<int>{1, 2}, 2)
                 .map([word, factor](int x) { return word.value() + std::to_string(x * factor.value()); })
                 .collect();
  CHECK(out == std::vector<std::string>{"spate3", "spate6"});
}
