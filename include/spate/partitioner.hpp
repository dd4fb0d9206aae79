// Partitioners: which output partition a key goes to. Equal partitioners let joins skip a shuffle.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <typeinfo>
#include <vector>

#include "spate/detail/state_codec.hpp"
#include "spate/hash.hpp"

namespace spate {

/// Type-erased view of a partitioner, enough to decide whether two datasets are co-partitioned.
/// A partitioner of your own derives from it, is callable as `std::size_t operator()(const K&)`,
/// and travels to executors through `void save_state(Writer&) const` and
/// `static P load_state(Reader&)` (see HashPartitioner).
class PartitionerBase {
 public:
  virtual ~PartitionerBase() = default;
  /// Number of output partitions.
  virtual std::size_t num_partitions() const noexcept = 0;
  /// True when both send every key to the same partition.
  virtual bool same_as(const PartitionerBase& other) const noexcept = 0;
};

/// Sends a key to `stable_hash(key) % n`: the same partition in every process and run.
class HashPartitioner final : public PartitionerBase {
 public:
  /// n must be at least 1.
  explicit HashPartitioner(std::size_t n) : n_(n < 1 ? 1 : n) {}
  std::size_t num_partitions() const noexcept override { return n_; }
  bool same_as(const PartitionerBase& other) const noexcept override {
    auto* o = dynamic_cast<const HashPartitioner*>(&other);
    return o != nullptr && o->n_ == n_;
  }
  /// The partition of key k.
  template <class K>
  std::size_t operator()(const K& k) const noexcept {
    return static_cast<std::size_t>(stable_hash<K>{}(k) % n_);
  }
  /// Writes the partitioner into a task.
  void save_state(Writer& w) const { w.write_varint(n_); }
  /// Rebuilds a partitioner written by save_state.
  static HashPartitioner load_state(Reader& r) { return HashPartitioner(r.read_varint()); }

 private:
  std::size_t n_;
};

/// Sends keys to contiguous, ordered ranges split at `bounds` (sorted by Compare); used by sorts.
/// Partition i holds keys in (bounds[i-1], bounds[i]]; with `ascending == false` the order flips.
template <class K, class Compare = std::less<K>>
class RangePartitioner final : public PartitionerBase {
 public:
  RangePartitioner(std::vector<K> bounds, bool ascending, Compare less = Compare{})
      : bounds_(std::move(bounds)), ascending_(ascending), less_(less) {}
  std::size_t num_partitions() const noexcept override { return bounds_.size() + 1; }
  bool same_as(const PartitionerBase& other) const noexcept override {
    auto* o = dynamic_cast<const RangePartitioner*>(&other);
    if (o == nullptr || o->ascending_ != ascending_ || o->bounds_.size() != bounds_.size())
      return false;
    for (std::size_t i = 0; i < bounds_.size(); ++i)
      if (less_(bounds_[i], o->bounds_[i]) || less_(o->bounds_[i], bounds_[i])) return false;
    return true;
  }
  /// The partition of key k.
  std::size_t operator()(const K& k) const {
    std::size_t i = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), k, less_) - bounds_.begin());
    return ascending_ ? i : bounds_.size() - i;
  }
  /// The partitioner of partitions first..last (first <= last < num_partitions()) alone,
  /// numbered from 0: a key below the range goes to 0, one above it to the last (filter_by_range).
  RangePartitioner subrange(std::size_t first, std::size_t last) const {
    std::size_t start = ascending_ ? first : bounds_.size() - last;
    auto from = bounds_.begin() + static_cast<std::ptrdiff_t>(start);
    return RangePartitioner(std::vector<K>(from, from + static_cast<std::ptrdiff_t>(last - first)),
                            ascending_, less_);
  }
  /// Writes the partitioner into a task.
  void save_state(Writer& w) const {
    serialize_to(w, bounds_);
    serialize_to(w, ascending_);
    detail::save_state(w, less_);
  }
  /// Rebuilds a partitioner written by save_state.
  static RangePartitioner load_state(Reader& r) {
    auto bounds = deserialize_from<std::vector<K>>(r);
    bool ascending = deserialize_from<bool>(r);
    return RangePartitioner(std::move(bounds), ascending, detail::load_state<Compare>(r));
  }

 private:
  std::vector<K> bounds_;
  bool ascending_;
  Compare less_;
};

}  // namespace spate
