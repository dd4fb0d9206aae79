// StringKeyTable<V>: the map-side aggregation table of a shuffle keyed by strings (word counts,
// counts per URL or user). It is built for tables far larger than the cache:
//
// - One array of slots, each holding the key's 64-bit hash, its length, the key itself when it
//   has at most 16 bytes (longer keys go to an arena) and the value. Looking up a short key
//   touches one slot and whatever follows it in the same or the next cache line: one miss where a
//   table of std::string keys (control bytes, then the element) takes two.
// - Keys are compared by full hash and length before any byte, so bytes are compared only for
//   the key itself.
// - Callers that know their next keys ahead prefetch their slots (prefetch()), hiding the miss.
// - Growing moves slots by their stored hashes: no key is hashed again, no string moved.
// - The slot array comes from BigAllocator (huge pages), so a growing table does not fault per
//   4 KiB.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/detail/big_allocator.hpp"
#include "spate/hash.hpp"

namespace spate::detail {

/// Bytes copied once and kept until the arena goes; what it returns stays valid (blocks never move).
class KeyArena {
 public:
  /// A copy of `bytes` that lives as long as the arena.
  const char* store(std::string_view bytes) {
    if (bytes.size() > left_) grow(bytes.size());
    char* stored = next_;
    std::memcpy(stored, bytes.data(), bytes.size());
    next_ += bytes.size();
    left_ -= bytes.size();
    return stored;
  }
  /// Bytes held in blocks, used or not.
  std::size_t capacity_bytes() const noexcept { return held_; }

 private:
  void grow(std::size_t at_least);

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
  std::size_t held_ = 0;
};

/// Whether a[0, n) == b[0, n) for n <= 16, by overlapping word loads inside both ranges: a call to
/// memcmp with a size only known at run time was 6% of a word count.
inline bool short_equal(const char* a, const char* b, std::size_t n) noexcept {
  const auto same = [&]<class W>(W, std::size_t at) {
    W x, y;
    std::memcpy(&x, a + at, sizeof(W));
    std::memcpy(&y, b + at, sizeof(W));
    return x == y;
  };
  if (n >= 8) return same(std::uint64_t{}, 0) & same(std::uint64_t{}, n - 8);
  if (n >= 4) return same(std::uint32_t{}, 0) & same(std::uint32_t{}, n - 4);
  if (n == 0) return true;
  // 1-3 bytes: the first, the middle and the last (some the same byte).
  return (a[0] == b[0]) & (a[n / 2] == b[n / 2]) & (a[n - 1] == b[n - 1]);
}

/// A hash table from string keys to V, for keys whose 64-bit hash the caller computes (so that the
/// same hash also picks the key's reducer).
template <class V>
class StringKeyTable {
  static constexpr std::size_t kInline = 16;  // keys up to this long live in their slot

 public:
  /// One key and its value.
  class Slot {
   public:
    /// The key's hash, as the caller gave it.
    std::uint64_t hash() const noexcept { return hash_; }
    /// The key (in the slot or the table's arena).
    std::string_view key() const noexcept {
      const std::size_t n = size1_ - 1;
      return {n <= kInline ? key_.bytes : key_.data, n};
    }
    V& value() noexcept { return *std::launder(reinterpret_cast<V*>(value_)); }

   private:
    friend class StringKeyTable;
    bool empty() const noexcept { return size1_ == 0; }
    bool holds(std::string_view k, std::uint64_t h) const noexcept {
      if (hash_ != h || size1_ != k.size() + 1) return false;
      if (k.size() <= kInline) return short_equal(key_.bytes, k.data(), k.size());
      return std::memcmp(key_.data, k.data(), k.size()) == 0;
    }

    std::uint64_t hash_;
    std::uint32_t size1_;  // key size + 1; 0: an empty slot
    union {
      char bytes[kInline];
      const char* data;
    } key_;
    alignas(V) unsigned char value_[sizeof(V)];
  };

  /// `salt` picks how hashes map to slots. Tables filled one from another need different salts:
  /// a table is visited in slot order, and keys arriving in the slot order of a table that maps
  /// them alike would pile into one cluster while the new table is smaller than the old.
  explicit StringKeyTable(std::uint64_t salt = 0) noexcept : multiplier_(mix64(salt ^ 0x243f6a8885a308d3ULL) | 1) {}
  StringKeyTable(const StringKeyTable&) = delete;
  StringKeyTable& operator=(const StringKeyTable&) = delete;
  ~StringKeyTable() { destroy_values(); }

  /// Starts loading the slot where a key of this hash is looked for.
  void prefetch(std::uint64_t hash) const noexcept {
    if (slots_.empty()) return;
    // The slot and the line after it: a slot may straddle two lines, and a probe goes on to the
    // next slots.
    const char* at = reinterpret_cast<const char*>(&slots_[home(hash)]);
    __builtin_prefetch(at);
    __builtin_prefetch(at + 64);
  }

  /// The slot of `key` (whose hash is `hash`), or null.
  Slot* find(std::string_view key, std::uint64_t hash) noexcept {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = home(hash);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.empty()) return nullptr;
      if (s.holds(key, hash)) return &s;
    }
  }

  /// Adds `key`, known to be absent, with the value make() returns; the key is copied first, so
  /// make() may consume what the key viewed.
  template <class Make>
  Slot& insert(std::string_view key, std::uint64_t hash, Make&& make) {
    if ((size_ + 1) * 10 > slots_.size() * 7) grow();  // at most 70% full
    const std::size_t from = home(hash);
    Slot& s = free_slot(hash);
    longest_walk_ = std::max(longest_walk_, (static_cast<std::size_t>(&s - slots_.data()) - from) & mask_);
    s.hash_ = hash;
    s.size1_ = static_cast<std::uint32_t>(key.size() + 1);
    if (key.size() <= kInline) {
      std::memcpy(s.key_.bytes, key.data(), key.size());
    } else {
      s.key_.data = arena_.store(key);
    }
    try {
      ::new (static_cast<void*>(s.value_)) V(make());
    } catch (...) {
      s.size1_ = 0;
      throw;
    }
    ++size_;
    return s;
  }

  /// Calls f(Slot&) for every key, in no particular order.
  template <class F>
  void for_each(F&& f) {
    for (Slot& s : slots_)
      if (!s.empty()) f(s);
  }

  /// Number of keys.
  std::size_t size() const noexcept { return size_; }
  /// The longest walk, in slots, that an insertion took from the key's home slot to a free one
  /// since the table was made or cleared (for tests and diagnostics).
  std::size_t longest_insert_walk() const noexcept { return longest_walk_; }
  /// Removes every key and gives back the memory.
  void clear() noexcept {
    destroy_values();
    std::vector<Slot, BigAllocator<Slot>>().swap(slots_);
    arena_ = KeyArena();
    size_ = 0;
    longest_walk_ = 0;
    mask_ = 0;
    shift_ = 63;
  }
  /// Bytes the table holds (slots and long keys), for memory estimates.
  std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(Slot) + arena_.capacity_bytes(); }

 private:
  // The slot is the high bits of the hash times an odd multiplier of the table's own: high bits,
  // because callers' partitioners take `hash % n`, so low bits would crowd one reducer's keys
  // together; the multiplier, so that two tables order the same keys differently (see above).
  std::size_t home(std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>((hash * multiplier_) >> shift_) & mask_;
  }

  Slot& free_slot(std::uint64_t hash) noexcept {
    std::size_t i = home(hash);
    while (!slots_[i].empty()) i = (i + 1) & mask_;
    return slots_[i];
  }

  void grow() {
    const std::size_t cells = slots_.empty() ? 1024 : slots_.size() * 2;
    std::vector<Slot, BigAllocator<Slot>> old(cells);  // value-initialised: every slot empty
    old.swap(slots_);
    mask_ = cells - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(cells));
    for (Slot& s : old) {
      if (s.empty()) continue;
      Slot& to = free_slot(s.hash_);
      to.hash_ = s.hash_;
      to.size1_ = s.size1_;
      to.key_ = s.key_;
      ::new (static_cast<void*>(to.value_)) V(std::move(s.value()));
      s.value().~V();
    }
  }

  void destroy_values() noexcept {
    if constexpr (!std::is_trivially_destructible_v<V>)
      for (Slot& s : slots_)
        if (!s.empty()) s.value().~V();
  }

  std::vector<Slot, BigAllocator<Slot>> slots_;
  KeyArena arena_;
  std::uint64_t multiplier_;
  std::size_t size_ = 0;
  std::size_t longest_walk_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 63;  // never 64: shifting a 64-bit value by 64 is undefined
};

}  // namespace spate::detail
