// AggregationTable<K, C>: the in-memory table of a by-key aggregation, one combiner per key.
// String keys get StringKeyTable (string_key_table.hpp), which is several times faster on tables
// larger than the cache; other keys a Boost flat map. Both are used the same way: hash a key once
// with hash(), then find() and, if absent, insert() with that hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <boost/unordered/unordered_flat_map.hpp>

#include "spate/detail/big_allocator.hpp"
#include "spate/detail/string_key_table.hpp"
#include "spate/detail/table_hash.hpp"
#include "spate/hash.hpp"

namespace spate::detail {

/// The open-addressing hash table of in-task aggregation and grouping, for keys of any type.
template <class K, class V>
using HashTable = boost::unordered_flat_map<K, V, TableHash, TableEq, BigAllocator<std::pair<const K, V>>>;

/// Combiners by key for any key type with stable_hash and ==.
template <class K, class C>
class AggregationTable {
 public:
  /// `salt` tells apart tables filled one from another (see StringKeyTable); unused here.
  explicit AggregationTable(std::uint64_t /*salt*/) noexcept {}
  /// The hash find() and insert() take; this table hashes keys itself, so it is unused.
  template <class Key>
  std::uint64_t hash(const Key&) const noexcept {
    return 0;
  }
  /// The combiner of `key`, or null.
  template <class Key>
  C* find(const Key& key, std::uint64_t) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  /// Adds `key`, known to be absent, with the combiner make() returns; the key is copied first.
  template <class Key, class Make>
  C& insert(const Key& key, std::uint64_t, Make&& make) {
    K owned(key);
    return map_.emplace(std::move(owned), make()).first->second;
  }
  /// Calls f(key, combiner&) for every key.
  template <class F>
  void for_each(F&& f) {
    for (auto& [k, c] : map_) f(k, c);
  }
  std::size_t size() const noexcept { return map_.size(); }
  /// Bytes of the table's own arrays (not what keys and combiners hold on the heap).
  std::uint64_t memory_bytes() const noexcept { return map_.bucket_count() * (sizeof(std::pair<K, C>) + 1); }
  /// Empties the table and gives back its memory.
  void clear() { map_ = {}; }

 private:
  HashTable<K, C> map_;
};

/// String keys: a StringKeyTable, looked up with views (no std::string is built to look up).
template <class C>
class AggregationTable<std::string, C> {
 public:
  explicit AggregationTable(std::uint64_t salt) noexcept : table_(salt) {}
  std::uint64_t hash(std::string_view key) const noexcept { return stable_hash<std::string_view>{}(key); }
  /// Starts loading where `hash`'s key is looked for.
  void prefetch(std::uint64_t hash) const noexcept { table_.prefetch(hash); }
  C* find(std::string_view key, std::uint64_t hash) {
    auto* slot = table_.find(key, hash);
    return slot == nullptr ? nullptr : &slot->value();
  }
  template <class Make>
  C& insert(std::string_view key, std::uint64_t hash, Make&& make) {
    return table_.insert(key, hash, std::forward<Make>(make)).value();
  }
  /// Calls f(key, combiner&) for every key, the key as a std::string_view.
  template <class F>
  void for_each(F&& f) {
    table_.for_each([&](auto& slot) { f(slot.key(), slot.value()); });
  }
  std::size_t size() const noexcept { return table_.size(); }
  std::uint64_t memory_bytes() const noexcept { return table_.memory_bytes(); }
  void clear() noexcept { table_.clear(); }

 private:
  StringKeyTable<C> table_;
};

}  // namespace spate::detail
