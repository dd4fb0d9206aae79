// ExternalAggregator: a task's per-key aggregation (reduce_by_key, aggregate_by_key,
// group_by_key on the reduce side) within its memory budget. The table stays in memory while the
// budget allows; past it, the table is written to a spill file as a run ordered by key hash and
// emptied, and at the end the runs are merged, combining the entries of each key in run order
// (so a group's values keep their arrival order).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "spate/detail/aggregation_table.hpp"
#include "spate/detail/external_sort.hpp"
#include "spate/detail/memory_estimate.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/detail/table_hash.hpp"

namespace spate::detail {

/// Combines (key, X) records per key with Agg: X is a value (create / merge_value) or, when it
/// is the combiner type C, a combiner (merge_combiners).
template <class K, class C, class X, class Agg>
class ExternalAggregator {
 public:
  /// `salt` must differ between aggregators that feed one another (see StringKeyTable).
  ExternalAggregator(TaskContext& tc, Agg& agg, std::uint64_t salt)
      : tc_(tc), agg_(agg), memory_(tc.blocks().memory()), table_(salt) {}

  /// Adds one record.
  void add(const std::pair<K, X>& r) { add(r.first, r.second); }

  /// Adds one record given as its key (a K, or a view of it for string keys) and its X.
  template <class Key>
  void add(const Key& key, const X& x) {
    const std::uint64_t h = table_.hash(key);
    C* c = table_.find(key, h);
    if constexpr (is_specialization_of_v<C, std::vector> && !std::is_same_v<X, C>) {
      // A big group about to grow would briefly hold its old buffer and one twice as large:
      // charge that before it happens, and spill first when the budget cannot take it.
      if (c != nullptr && c->size() == c->capacity() && c->capacity() >= kBigGroup) {
        std::uint64_t grow = c->capacity() * sizeof(typename C::value_type);
        if (memory_.cover(bytes_ + 2 * grow) || bytes_ < kMinSpillBytes) {
          bytes_ += grow;
        } else if constexpr (is_serializable_v<K> && is_serializable_v<C>) {
          spill();
          c = nullptr;
        }
      }
    }
    if (c == nullptr) {
      C* made;
      if constexpr (std::is_same_v<X, C>) {
        made = &table_.insert(key, h, [&] { return C(x); });
      } else {
        made = &table_.insert(key, h, [&] { return agg_.create(X(x)); });
      }
      if constexpr (std::is_convertible_v<const Key&, std::string_view>) {
        bytes_ += std::string_view(key).size() + footprint(*made) + 1;  // the key's bytes in the table
      } else {
        bytes_ += footprint(key) + footprint(*made) + 1;
      }
    } else {
      if constexpr (std::is_same_v<X, C>) {
        agg_.merge_combiners(*c, x);
      } else {
        agg_.merge_value(*c, X(x));
      }
      // Combiners that grow per value (a group's list) are charged per value (a big group's
      // buffer is charged as it grows, above); others stay put.
      if constexpr (is_specialization_of_v<C, std::vector>)
        bytes_ += c->capacity() >= kBigGroup ? heap_bytes(x) : footprint(x);
    }
    if ((++adds_ & 255) == 0) check_memory();
  }

  /// Calls f(std::pair<K, C>&&) once per key.
  template <class F>
  void drain(F&& f) {
    if (runs_.empty()) {
      table_.for_each([&](const auto& key, C& c) {
        std::pair<K, C> rec(K(key), std::move(c));
        f(std::move(rec));
      });
      return;
    }
    // Once anything spilled, the table goes out too: the merge then holds no more than the group
    // it is assembling and one piece per run (a table kept in memory could hold much of a big
    // group twice over, once in itself and once in the group being built).
    if constexpr (is_serializable_v<K> && is_serializable_v<C>) {
      if (table_.size() != 0) spill();
    }
    std::vector<std::pair<K, C>> last = sorted_entries();
    std::vector<RunReader<std::pair<K, C>>> readers;
    for (const auto& [b, e] : runs_) readers.emplace_back(*file_, b, e);
    const std::size_t k = readers.size() + 1;
    std::size_t in_memory = 0;
    std::vector<std::optional<std::pair<K, C>>> head(k);
    auto advance = [&](std::size_t i) {
      if (i < readers.size()) {
        head[i] = readers[i].next();
      } else if (in_memory < last.size()) {
        head[i].emplace(std::move(last[in_memory++]));
      } else {
        head[i].reset();
      }
    };
    for (std::size_t i = 0; i < k; ++i) advance(i);
    TableHash hash;
    TableEq eq;
    std::vector<std::pair<K, C>> same_hash;  // entries of one hash value, merged per key
    for (;;) {
      std::optional<std::size_t> h;
      for (std::size_t i = 0; i < k; ++i)
        if (head[i] && (!h || hash(head[i]->first) < *h)) h = hash(head[i]->first);
      if (!h) break;
      same_hash.clear();
      for (std::size_t i = 0; i < k; ++i) {  // run order: earlier data first
        while (head[i] && hash(head[i]->first) == *h) {
          auto& e = *head[i];
          auto match = std::find_if(same_hash.begin(), same_hash.end(),
                                    [&](const auto& s) { return eq(s.first, e.first); });
          if (match == same_hash.end()) {
            same_hash.push_back(std::move(e));
            if constexpr (is_specialization_of_v<C, std::vector>) {
              // A big group's final size is known from its pieces: size it once, so that
              // appending the pieces never copies it into a twice larger buffer.
              for (const auto& [key, n] : big_groups_)
                if (eq(key, same_hash.back().first)) same_hash.back().second.reserve(n);
            }
          } else {
            agg_.merge_combiners(match->second, e.second);
          }
          advance(i);
        }
      }
      for (auto& e : same_hash) f(std::move(e));
    }
  }

 private:
  void check_memory() {
    std::uint64_t need = bytes_ + table_.memory_bytes();
    if (memory_.cover(need) || need < kMinSpillBytes) return;
    if constexpr (is_serializable_v<K> && is_serializable_v<C>) spill();
  }

  std::vector<std::pair<K, C>> sorted_entries() {
    std::vector<std::pair<K, C>> v;
    v.reserve(table_.size());
    table_.for_each([&](const auto& key, C& c) { v.emplace_back(K(key), std::move(c)); });
    table_.clear();
    TableHash hash;
    std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) { return hash(a.first) < hash(b.first); });
    return v;
  }

  void spill() {
    auto v = sorted_entries();
    if (!file_) file_ = std::make_unique<SpillFile>(tc_.blocks().spill_dir(), tc_.blocks().spill_compression());
    std::uint64_t begin = file_->size();
    RunWriter<std::pair<K, C>> w(*file_);
    for (auto& e : v) {
      if constexpr (is_specialization_of_v<C, std::vector>) {
        // A big group (a hot key) goes out in pieces of the same key, so that no block or record
        // read back is larger than a piece; the merge appends them in order.
        constexpr std::size_t kPiece = kBigGroup;
        if (e.second.size() > kPiece) {
          note_big_group(e.first, e.second.size());
          for (std::size_t i = 0; i < e.second.size(); i += kPiece) {
            std::size_t end = std::min(e.second.size(), i + kPiece);
            std::pair<K, C> piece(e.first, C(std::make_move_iterator(e.second.begin() + static_cast<std::ptrdiff_t>(i)),
                                             std::make_move_iterator(e.second.begin() + static_cast<std::ptrdiff_t>(end))));
            w.add(piece);
          }
          C().swap(e.second);
          continue;
        }
      }
      w.add(e);
    }
    w.flush();
    runs_.emplace_back(begin, file_->size());
    tc_.add_counter("spill.bytes", file_->size() - begin);
    bytes_ = 0;
    memory_.reset();
  }

  // Groups this large are charged by their buffer's growth, and spilled in pieces of this size.
  static constexpr std::size_t kBigGroup = std::size_t{1} << 16;

  // Adds n values to what the spilled runs hold of a big group (one written in pieces).
  void note_big_group(const K& key, std::size_t n) {
    TableEq eq;
    for (auto& [k, total] : big_groups_)
      if (eq(k, key)) {
        total += n;
        return;
      }
    big_groups_.emplace_back(key, n);
  }

  TaskContext& tc_;
  Agg& agg_;
  std::vector<std::pair<K, std::size_t>> big_groups_;  // key, values over every run
  MemoryReservation memory_;
  AggregationTable<K, C> table_;
  std::uint64_t bytes_ = 0;
  std::uint64_t adds_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs_;
};

}  // namespace spate::detail
