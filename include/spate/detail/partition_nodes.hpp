// Narrow nodes that need the partition as a whole or its index: sources from memory, union,
// coalesce, map_partitions, sample and zip_with_index.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/detail/node.hpp"
#include "spate/detail/state_codec.hpp"
#include "spate/detail/thread_coroutine.hpp"
#include "spate/error.hpp"
#include "spate/hash.hpp"
#include "spate/partition_records.hpp"

namespace spate::detail {

/// Records held by the driver, split into `partitions` contiguous slices of near-equal size.
template <class T>
class ParallelizeNode final : public Node<T>,
    private Registered<ParallelizeNode<T>, TypeKind::node> {
  using Reg = Registered<ParallelizeNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  ParallelizeNode(std::uint64_t id, std::shared_ptr<const std::vector<T>> data, std::size_t partitions)
      : Node<T>(id, "parallelize", partitions), data_(std::move(data)) {}
  void save(GraphWriter& w) const override { serialize_to(w.out(), *data_); }
  static std::shared_ptr<ParallelizeNode> load(GraphReader& r, const NodeHeader& h) {
    auto data = std::make_shared<const std::vector<T>>(deserialize_from<std::vector<T>>(r.in()));
    return std::make_shared<ParallelizeNode>(h.id, std::move(data), h.partitions);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    std::size_t n = data_->size(), parts = this->num_partitions();
    std::size_t begin = p * n / parts, end = (p + 1) * n / parts;
    tc.add_counter("input.records", end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      if ((i - begin) % kRecordsBetweenChecks == 0) tc.check_killed();
      T copy((*data_)[i]);
      out(std::move(copy));
    }
  }

 private:
  std::shared_ptr<const std::vector<T>> data_;
};

/// The partitions of several parents, one after another.
template <class T>
class UnionNode final : public Node<T>,
    private Registered<UnionNode<T>, TypeKind::node> {
  using Reg = Registered<UnionNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  UnionNode(std::uint64_t id, std::vector<std::shared_ptr<Node<T>>> parents)
      : Node<T>(id, "union", total(parents)), parents_(std::move(parents)) {
    for (const auto& p : parents_) this->add_narrow_parent(p);
  }
  void save(GraphWriter& w) const override {
    w.out().write_varint(parents_.size());
    for (const auto& p : parents_) w.node(p);
  }
  static std::shared_ptr<UnionNode> load(GraphReader& r, const NodeHeader& h) {
    std::vector<std::shared_ptr<Node<T>>> parents(r.in().read_count(1));
    for (auto& p : parents) p = r.node_of<T>();
    return std::make_shared<UnionNode>(h.id, std::move(parents));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    for (const auto& parent : parents_) {
      if (p < parent->num_partitions()) {
        parent->iterate(tc, p, out);
        return;
      }
      p -= parent->num_partitions();
    }
  }

 private:
  static std::size_t total(const std::vector<std::shared_ptr<Node<T>>>& ps) {
    std::size_t n = 0;
    for (const auto& p : ps) n += p->num_partitions();
    return n;
  }
  std::vector<std::shared_ptr<Node<T>>> parents_;
};

/// Fewer partitions without a shuffle: partition i reads a contiguous range of the parent's.
template <class T>
class CoalesceNode final : public Node<T>,
    private Registered<CoalesceNode<T>, TypeKind::node> {
  using Reg = Registered<CoalesceNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  CoalesceNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, std::size_t partitions)
      : Node<T>(id, "coalesce", partitions), parent_(std::move(parent)) {
    this->add_narrow_parent(parent_);
  }
  void save(GraphWriter& w) const override { w.node(parent_); }
  static std::shared_ptr<CoalesceNode> load(GraphReader& r, const NodeHeader& h) {
    return std::make_shared<CoalesceNode>(h.id, r.node_of<T>(), h.partitions);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    std::size_t n = parent_->num_partitions(), parts = this->num_partitions();
    for (std::size_t q = p * n / parts; q < (p + 1) * n / parts; ++q) parent_->iterate(tc, q, out);
  }

 private:
  std::shared_ptr<Node<T>> parent_;
};

/// A contiguous run of the parent's partitions: partition i is the parent's first + i. Used by
/// filter_by_range on a range-partitioned dataset, to read only the partitions its range can hold.
template <class T>
class PartitionRangeNode final : public Node<T>,
    private Registered<PartitionRangeNode<T>, TypeKind::node> {
  using Reg = Registered<PartitionRangeNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  /// partitioner (may be null) is what the kept records obey, numbered from first.
  PartitionRangeNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, std::size_t first,
                     std::size_t partitions, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<T>(id, "partition_range", partitions), parent_(std::move(parent)), first_(first) {
    // A range can arrive over the wire: past the parent's end, compute would ask for a
    // partition it does not have.
    if (first_ > parent_->num_partitions() || partitions > parent_->num_partitions() - first_)
      throw serialization_error("partition_range: partitions " + std::to_string(first_) + " to " +
                                std::to_string(first_ + partitions) + " of a parent with " +
                                std::to_string(parent_->num_partitions()));
    this->add_narrow_parent(parent_);
    this->set_partitioner(std::move(partitioner));
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    serialize_to(w.out(), static_cast<std::uint64_t>(first_));
  }
  static std::shared_ptr<PartitionRangeNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<T>();
    auto first = deserialize_from<std::uint64_t>(r.in());
    return std::make_shared<PartitionRangeNode>(h.id, std::move(parent), first, h.partitions,
                                                nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    parent_->iterate(tc, first_ + p, out);
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  std::size_t first_;
};

/// map_partitions: f(partition_index, std::vector<T> records) returns a range of U; with
/// Streamed, map_partitions_with_index: f(partition_index, PartitionRecords<T>&) does.
template <class T, class U, class F, bool Streamed = false>
class MapPartitionsNode final : public Node<U>,
    private Registered<MapPartitionsNode<T, U, F, Streamed>, TypeKind::node> {
  using Reg = Registered<MapPartitionsNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  MapPartitionsNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, F f, bool keeps_partitioner)
      : Node<U>(id, Streamed ? "map_partitions_with_index" : "map_partitions", parent->num_partitions()),
        parent_(std::move(parent)),
        f_(f) {
    this->add_narrow_parent(parent_);
    if (keeps_partitioner) this->set_partitioner(parent_->partitioner());
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    save_state(w.out(), f_);
  }
  static std::shared_ptr<MapPartitionsNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<T>();
    return std::make_shared<MapPartitionsNode>(h.id, std::move(parent), load_state<F>(r.in()),
                                               false);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<U> out) override {
    F f = f_;  // each task gets its own copy of the function, as for fused chains
    if constexpr (Streamed) {
      compute_streamed(tc, p, f, out);
    } else {
      std::vector<T> records;
      auto keep = [&records](T&& x) { records.push_back(std::move(x)); };
      parent_->iterate(tc, p, Emit<T>(keep));
      emit_all(f(p, std::move(records)), out);
    }
  }

 private:
  static constexpr std::size_t kBatch = 1024;

  static void emit_all(auto&& result, Emit<U>& out) {
    for (auto&& y : result) {
      U v(std::move(y));
      out(std::move(v));
    }
  }

  // The parent pushes its records; the user's function pulls them. The parent runs on a thread
  // of its own, taking turns with this one (ThreadCoroutine), a batch at a time, so only one
  // thread touches the task's context at any moment.
  void compute_streamed(TaskContext& tc, std::size_t p, F& f, Emit<U>& out) {
    std::vector<T> batch;
    batch.reserve(kBatch);
    ThreadCoroutine producer([&](ThreadCoroutine& co) {
      CurrentTaskScope scope(tc);
      auto keep = [&](T&& x) {
        batch.push_back(std::move(x));
        if (batch.size() == kBatch) co.yield();
      };
      parent_->iterate(tc, p, Emit<T>(keep));
    });
    PartitionRecords<T> records([&](std::vector<T>& into) {
      producer.resume();
      std::swap(into, batch);
      return !into.empty();
    });
    emit_all(f(p, records), out);
  }

  std::shared_ptr<Node<T>> parent_;
  F f_;
};

/// One record per partition: seq folded over the partition's records from a copy of zero
/// (tree_aggregate's first level; the partition is streamed, not held).
template <class T, class Z, class Seq>
class PartitionAggregateNode final : public Node<Z>,
    private Registered<PartitionAggregateNode<T, Z, Seq>, TypeKind::node> {
  using Reg = Registered<PartitionAggregateNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  PartitionAggregateNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, Z zero, Seq seq)
      : Node<Z>(id, "aggregate_partition", parent->num_partitions()),
        parent_(std::move(parent)),
        zero_(std::move(zero)),
        seq_(std::move(seq)) {
    this->add_narrow_parent(parent_);
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    serialize_to(w.out(), zero_);
    save_state(w.out(), seq_);
  }
  static std::shared_ptr<PartitionAggregateNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<T>();
    Z zero = deserialize_from<Z>(r.in());
    return std::make_shared<PartitionAggregateNode>(h.id, std::move(parent), std::move(zero),
                                                    load_state<Seq>(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Z> out) override {
    Seq seq = seq_;
    Z acc = zero_;
    auto body = [&](T&& x) { acc = seq(std::move(acc), std::move(x)); };
    parent_->iterate(tc, p, Emit<T>(body));
    out(std::move(acc));
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  Z zero_;
  Seq seq_;
};

/// A small deterministic generator (splitmix64) seeded per partition, so a sample is the same on
/// every run and every recomputation.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Poisson-distributed count with the given mean (Knuth's method; means here are small).
  std::uint32_t poisson(double mean) noexcept {
    double limit = std::exp(-mean), prod = uniform();
    std::uint32_t k = 0;
    while (prod > limit) {
      ++k;
      prod *= uniform();
    }
    return k;
  }

 private:
  std::uint64_t state_;
};

/// One sampling draw for x: without replacement x goes to out when a uniform draw falls in
/// [lower, fraction); with it, x goes out Poisson(fraction) times.
template <class T>
void emit_sampled(SplitMix64& rng, bool with_replacement, double lower, double fraction, T&& x,
                  Emit<std::remove_cvref_t<T>>& out) {
  if (!with_replacement) {
    const double u = rng.uniform();
    if (u >= lower && u < fraction) out(std::move(x));
    return;
  }
  std::uint32_t copies = rng.poisson(fraction);
  for (std::uint32_t c = 0; c + 1 < copies; ++c) {
    std::remove_cvref_t<T> copy(x);
    out(std::move(copy));
  }
  if (copies > 0) out(std::move(x));
}

/// sample: a record is kept when a uniform draw u falls in [lower, fraction) (lower is 0 for
/// sample; random_split gives each split its own range of the same draws), or repeated a
/// Poisson(fraction) number of times with replacement.
template <class T>
class SampleNode final : public Node<T>,
    private Registered<SampleNode<T>, TypeKind::node> {
  using Reg = Registered<SampleNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  SampleNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, bool with_replacement,
             double fraction, std::uint64_t seed, double lower = 0.0)
      : Node<T>(id, lower == 0.0 ? "sample" : "random_split", parent->num_partitions()),
        parent_(std::move(parent)),
        with_replacement_(with_replacement),
        fraction_(fraction),
        lower_(lower),
        seed_(seed) {
    this->add_narrow_parent(parent_);
    this->set_partitioner(parent_->partitioner());
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    serialize_to(w.out(), std::tuple<bool, double, std::uint64_t, double>(with_replacement_, fraction_,
                                                                          seed_, lower_));
  }
  static std::shared_ptr<SampleNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<T>();
    auto [with_replacement, fraction, seed, lower] =
        deserialize_from<std::tuple<bool, double, std::uint64_t, double>>(r.in());
    return std::make_shared<SampleNode>(h.id, std::move(parent), with_replacement, fraction, seed,
                                        lower);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    SplitMix64 rng(hash_combine(seed_, p));
    auto body = [&](T&& x) { emit_sampled(rng, with_replacement_, lower_, fraction_, std::move(x), out); };
    parent_->iterate(tc, p, Emit<T>(body));
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  bool with_replacement_;
  double fraction_;
  double lower_;
  std::uint64_t seed_;
};

/// sample_by_key: as SampleNode, with the fraction of each record's key; a key missing from the
/// fractions fails the task.
template <class K, class V>
class SampleByKeyNode final : public Node<std::pair<K, V>>,
    private Registered<SampleByKeyNode<K, V>, TypeKind::node> {
  using Reg = Registered<SampleByKeyNode, TypeKind::node>;
  using R = std::pair<K, V>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  SampleByKeyNode(std::uint64_t id, std::shared_ptr<Node<R>> parent, bool with_replacement,
                  std::map<K, double> fractions, std::uint64_t seed)
      : Node<R>(id, "sample_by_key", parent->num_partitions()),
        parent_(std::move(parent)),
        with_replacement_(with_replacement),
        fractions_(std::move(fractions)),
        seed_(seed) {
    this->add_narrow_parent(parent_);
    this->set_partitioner(parent_->partitioner());
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    serialize_to(w.out(), with_replacement_);
    serialize_to(w.out(), fractions_);
    serialize_to(w.out(), seed_);
  }
  static std::shared_ptr<SampleByKeyNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<R>();
    auto with_replacement = deserialize_from<bool>(r.in());
    auto fractions = deserialize_from<std::map<K, double>>(r.in());
    auto seed = deserialize_from<std::uint64_t>(r.in());
    return std::make_shared<SampleByKeyNode>(h.id, std::move(parent), with_replacement,
                                             std::move(fractions), seed);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<R> out) override {
    SplitMix64 rng(hash_combine(seed_, p));
    auto body = [&](R&& x) {
      auto it = fractions_.find(x.first);
      if (it == fractions_.end()) {
        throw error("sample_by_key: the fractions give no sampling rate for the key " +
                    describe_key(x.first) + " of partition " + std::to_string(p));
      }
      emit_sampled(rng, with_replacement_, 0.0, it->second, std::move(x), out);
    };
    parent_->iterate(tc, p, Emit<R>(body));
  }

 private:
  static std::string describe_key(const K& k) {
    if constexpr (std::is_arithmetic_v<K>) {
      return std::to_string(k);
    } else if constexpr (std::is_convertible_v<const K&, std::string_view>) {
      return "\"" + std::string(std::string_view(k).substr(0, 100)) + "\"";
    } else {
      return "(of a type that cannot be shown)";
    }
  }

  std::shared_ptr<Node<R>> parent_;
  bool with_replacement_;
  std::map<K, double> fractions_;
  std::uint64_t seed_;
};

/// zip_with_index and zip_with_unique_id: (record, id) where the i-th record of partition p gets
/// starts[p] + i * stride (zip_with_index: counted starts, stride 1; zip_with_unique_id: p and
/// the number of partitions).
template <class T>
class ZipWithIndexNode final : public Node<std::pair<T, std::uint64_t>>,
    private Registered<ZipWithIndexNode<T>, TypeKind::node> {
  using Reg = Registered<ZipWithIndexNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  ZipWithIndexNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, std::vector<std::uint64_t> starts,
                   std::uint64_t stride = 1)
      : Node<std::pair<T, std::uint64_t>>(id, stride == 1 ? "zip_with_index" : "zip_with_unique_id",
                                          parent->num_partitions()),
        parent_(std::move(parent)),
        starts_(std::move(starts)),
        stride_(stride) {
    this->add_narrow_parent(parent_);
  }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    serialize_to(w.out(), starts_);
    serialize_to(w.out(), stride_);
  }
  static std::shared_ptr<ZipWithIndexNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<T>();
    auto starts = deserialize_from<std::vector<std::uint64_t>>(r.in());
    auto stride = deserialize_from<std::uint64_t>(r.in());
    // compute(p) reads starts_[p].
    if (starts.size() != parent->num_partitions())
      throw serialization_error("zip_with_index node " + std::to_string(h.id) + " was sent with " +
                                std::to_string(starts.size()) + " start indexes for " +
                                std::to_string(parent->num_partitions()) + " partitions");
    return std::make_shared<ZipWithIndexNode>(h.id, std::move(parent), std::move(starts), stride);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<T, std::uint64_t>> out) override {
    std::uint64_t i = starts_[p];
    const std::uint64_t stride = stride_;
    auto body = [&](T&& x) {
      std::pair<T, std::uint64_t> r(std::move(x), i);
      i += stride;
      out(std::move(r));
    };
    parent_->iterate(tc, p, Emit<T>(body));
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  std::vector<std::uint64_t> starts_;
  std::uint64_t stride_;
};

}  // namespace spate::detail
