// ExternalCoGroup: the groups of a cogroup (and so of every join) within the memory budget.
// Groups stay in memory, in order of first appearance, while the budget allows; past it they are
// written to a spill file as a run ordered by key hash, and the runs are merged at the end,
// each key's left and right values appended in run order (so values keep their arrival order).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "spate/detail/external_sort.hpp"
#include "spate/detail/memory_estimate.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/table_hash.hpp"
#include "spate/detail/task_context.hpp"

namespace spate::detail {

template <class K, class V, class W>
class ExternalCoGroup {
 public:
  using Out = std::pair<K, std::pair<std::vector<V>, std::vector<W>>>;

  explicit ExternalCoGroup(TaskContext& tc) : tc_(tc), memory_(tc.blocks().memory()) {}

  /// Adds a value of the left input.
  void add_left(const K& k, const V& v) {
    slot(k).second.first.push_back(v);
    bytes_ += footprint(v);
    if ((++adds_ & 255) == 0) check_memory();
  }
  /// Adds a value of the right input.
  void add_right(const K& k, const W& w) {
    slot(k).second.second.push_back(w);
    bytes_ += footprint(w);
    if ((++adds_ & 255) == 0) check_memory();
  }

  /// Calls f(Out&&) once per key.
  template <class F>
  void drain(F&& f) {
    if (runs_.empty()) {
      for (auto& g : groups_) f(std::move(g));
      return;
    }
    std::vector<Out> last = sorted_groups();
    std::vector<RunReader<Out>> readers;
    for (const auto& [b, e] : runs_) readers.emplace_back(*file_, b, e);
    const std::size_t k = readers.size() + 1;
    std::size_t in_memory = 0;
    std::vector<std::optional<Out>> head(k);
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
    std::vector<Out> same_hash;
    for (;;) {
      std::optional<std::size_t> h;
      for (std::size_t i = 0; i < k; ++i)
        if (head[i] && (!h || hash(head[i]->first) < *h)) h = hash(head[i]->first);
      if (!h) break;
      same_hash.clear();
      for (std::size_t i = 0; i < k; ++i) {  // run order: earlier data first
        while (head[i] && hash(head[i]->first) == *h) {
          auto& g = *head[i];
          auto match = std::find_if(same_hash.begin(), same_hash.end(), [&](const Out& s) { return eq(s.first, g.first); });
          if (match == same_hash.end()) {
            same_hash.push_back(std::move(g));
          } else {
            auto& l = match->second.first;
            auto& r = match->second.second;
            l.insert(l.end(), std::make_move_iterator(g.second.first.begin()), std::make_move_iterator(g.second.first.end()));
            r.insert(r.end(), std::make_move_iterator(g.second.second.begin()), std::make_move_iterator(g.second.second.end()));
          }
          advance(i);
        }
      }
      for (auto& g : same_hash) f(std::move(g));
    }
  }

 private:
  Out& slot(const K& k) {
    auto [it, inserted] = index_.try_emplace(k, groups_.size());
    if (inserted) {
      groups_.emplace_back(k, std::pair<std::vector<V>, std::vector<W>>{});
      bytes_ += footprint(k) * 2 + sizeof(Out) + sizeof(std::size_t);
    }
    return groups_[it->second];
  }

  void check_memory() {
    std::uint64_t need = bytes_ + (2 * groups_.capacity() - groups_.size()) * sizeof(Out) +
                         index_.bucket_count() * (sizeof(std::pair<K, std::size_t>) + 1);
    if (memory_.cover(need) || need < kMinSpillBytes) return;
    if constexpr (is_serializable_v<Out>) spill();
  }

  std::vector<Out> sorted_groups() {
    std::vector<Out> v = std::move(groups_);
    groups_ = {};
    index_ = {};
    TableHash hash;
    std::stable_sort(v.begin(), v.end(), [&](const Out& a, const Out& b) { return hash(a.first) < hash(b.first); });
    return v;
  }

  void spill() {
    auto v = sorted_groups();
    if (!file_) file_ = std::make_unique<SpillFile>(tc_.blocks().spill_dir(), tc_.blocks().spill_compression());
    std::uint64_t begin = file_->size();
    RunWriter<Out> w(*file_);
    for (const auto& g : v) w.add(g);
    w.flush();
    runs_.emplace_back(begin, file_->size());
    tc_.add_counter("spill.bytes", file_->size() - begin);
    bytes_ = 0;
    memory_.reset();
  }

  TaskContext& tc_;
  MemoryReservation memory_;
  boost::unordered_flat_map<K, std::size_t, TableHash, TableEq> index_;
  std::vector<Out> groups_;
  std::uint64_t bytes_ = 0;
  std::uint64_t adds_ = 0;
  std::unique_ptr<SpillFile> file_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs_;
};

}  // namespace spate::detail
