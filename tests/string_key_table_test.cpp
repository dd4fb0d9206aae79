// StringKeyTable: the map-side table of string-keyed aggregations. It must find every key it was
// given, short (in the slot) or long (in the arena), across growth; own its keys' bytes; move and
// destroy values that own memory; and not pile keys into one cluster when filled in the visiting
// order of another table.
#include <spate/detail/string_key_table.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "test_support.hpp"

using spate::detail::StringKeyTable;

namespace {

std::uint64_t hash_of(std::string_view key) { return spate::stable_hash<std::string_view>{}(key); }

std::string key_of(int i) {
  // Every third key is longer than a slot holds.
  return i % 3 == 0 ? fmt::format("a key too long to live in its slot #{}", i) : fmt::format("k{}", i);
}

template <class V>
void add(StringKeyTable<V>& table, std::string_view key, V value) {
  if (auto* slot = table.find(key, hash_of(key))) {
    slot->value() += value;
  } else {
    table.insert(key, hash_of(key), [&] { return value; });
  }
}

// The keys of `table` in the order it visits them.
template <class V>
std::vector<std::string> visiting_order(StringKeyTable<V>& table) {
  std::vector<std::string> keys;
  table.for_each([&](auto& slot) { keys.emplace_back(slot.key()); });
  return keys;
}

}  // namespace

TEST_CASE("a string key table finds every key it was given, short and long, across growth", "[string_key_table]") {
  StringKeyTable<long> table(1);
  std::map<std::string, long> expected;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20'000; ++i) {
      add(table, key_of(i), long{i});
      expected[key_of(i)] += i;
    }
  }
  add(table, "", 7L);  // the empty key is a key like any other
  expected[""] += 7;
  REQUIRE(table.size() == expected.size());
  for (const auto& [key, sum] : expected) {
    auto* slot = table.find(key, hash_of(key));
    REQUIRE(slot != nullptr);
    CHECK(slot->key() == key);
    CHECK(slot->value() == sum);
  }
  CHECK(table.find("never added", hash_of("never added")) == nullptr);
  std::map<std::string, long> visited;
  table.for_each([&](auto& slot) { visited[std::string(slot.key())] = slot.value(); });
  CHECK(visited == expected);
}

TEST_CASE("a string key table keeps its own copy of each key", "[string_key_table]") {
  StringKeyTable<int> table(2);
  for (int i = 0; i < 1000; ++i) {
    std::string key = key_of(i);
    table.insert(key, hash_of(key), [] { return 1; });
    key.assign(key.size(), '#');  // what the key viewed changes: the table's copy must not
  }
  for (int i = 0; i < 1000; ++i) CHECK(table.find(key_of(i), hash_of(key_of(i))) != nullptr);
}

TEST_CASE("a string key table moves values that own memory as it grows, and clear() takes keys again",
          "[string_key_table]") {
  StringKeyTable<std::vector<std::string>> table(3);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = key_of(i % 2500);
    if (auto* slot = table.find(key, hash_of(key))) {
      slot->value().push_back(key_of(i));
    } else {
      table.insert(key, hash_of(key), [&] { return std::vector<std::string>{key_of(i)}; });
    }
  }
  REQUIRE(table.size() == 2500);
  auto* slot = table.find(key_of(7), hash_of(key_of(7)));
  REQUIRE(slot != nullptr);
  CHECK(slot->value() == std::vector<std::string>{key_of(7), key_of(2507)});
  table.clear();
  CHECK(table.size() == 0);
  CHECK(table.find(key_of(7), hash_of(key_of(7))) == nullptr);
  table.insert(key_of(7), hash_of(key_of(7)), [] { return std::vector<std::string>{"again"}; });
  CHECK(table.find(key_of(7), hash_of(key_of(7)))->value() == std::vector<std::string>{"again"});
}

TEST_CASE("a table filled in another table's visiting order does not pile its keys into one cluster",
          "[string_key_table]") {
  // A reduce task's table is filled in the slot order of map tasks' tables. Were slots chosen
  // alike in both, the keys arriving first would all want the first slots of the smaller, growing
  // table, and every insert would walk the whole pile.
  StringKeyTable<long> map_side(10);
  for (int i = 0; i < 200'000; ++i) add(map_side, key_of(i), 1L);
  const std::vector<std::string> order = visiting_order(map_side);

  StringKeyTable<long> in_input_order(11);
  for (int i = 0; i < 200'000; ++i) add(in_input_order, key_of(i), 1L);
  StringKeyTable<long> in_map_order(11);
  for (const auto& key : order) add(in_map_order, key, 1L);

  CHECK(visiting_order(in_map_order) != order);  // another salt, another order
  CHECK(in_map_order.size() == 200'000);
  // Linear probing at most 70% full: the longest walk from a key's home slot to a free one is
  // some tens of slots for keys in random order; a pile makes it thousands.
  CHECK(in_map_order.longest_insert_walk() <= 4 * in_input_order.longest_insert_walk() + 16);
}
