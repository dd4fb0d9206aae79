// Narrow nodes that need the partition as a whole or its index: sources from memory, union,
// coalesce, map_partitions, sample and zip_with_index.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/node.hpp"
#include "spate/hash.hpp"

namespace spate::detail {

/// Records held by the driver, split into `partitions` contiguous slices of near-equal size.
template <class T>
class ParallelizeNode final : public Node<T> {
 public:
  ParallelizeNode(std::uint64_t id, std::shared_ptr<const std::vector<T>> data, std::size_t partitions)
      : Node<T>(id, "parallelize", partitions), data_(std::move(data)) {}

 protected:
  void compute(TaskContext&, std::size_t p, Emit<T> out) override {
    std::size_t n = data_->size(), parts = this->num_partitions();
    std::size_t begin = p * n / parts, end = (p + 1) * n / parts;
    for (std::size_t i = begin; i < end; ++i) {
      T copy((*data_)[i]);
      out(std::move(copy));
    }
  }

 private:
  std::shared_ptr<const std::vector<T>> data_;
};

/// The partitions of several parents, one after another.
template <class T>
class UnionNode final : public Node<T> {
 public:
  UnionNode(std::uint64_t id, std::vector<std::shared_ptr<Node<T>>> parents)
      : Node<T>(id, "union", total(parents)), parents_(std::move(parents)) {
    for (const auto& p : parents_) this->add_narrow_parent(p);
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
class CoalesceNode final : public Node<T> {
 public:
  CoalesceNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, std::size_t partitions)
      : Node<T>(id, "coalesce", partitions), parent_(std::move(parent)) {
    this->add_narrow_parent(parent_);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    std::size_t n = parent_->num_partitions(), parts = this->num_partitions();
    for (std::size_t q = p * n / parts; q < (p + 1) * n / parts; ++q) parent_->iterate(tc, q, out);
  }

 private:
  std::shared_ptr<Node<T>> parent_;
};

/// map_partitions: f(partition_index, std::vector<T> records) returns a range of U.
template <class T, class U, class F>
class MapPartitionsNode final : public Node<U> {
 public:
  MapPartitionsNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, F f, bool keeps_partitioner)
      : Node<U>(id, "map_partitions", parent->num_partitions()), parent_(std::move(parent)), f_(f) {
    this->add_narrow_parent(parent_);
    if (keeps_partitioner) this->set_partitioner(parent_->partitioner());
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<U> out) override {
    std::vector<T> records;
    auto keep = [&records](T&& x) { records.push_back(std::move(x)); };
    parent_->iterate(tc, p, Emit<T>(keep));
    F f = f_;  // each task gets its own copy of the function, as for fused chains
    auto&& result = f(p, std::move(records));
    for (auto&& y : result) {
      U v(std::move(y));
      out(std::move(v));
    }
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  F f_;
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

/// sample: Bernoulli(fraction) per record, or Poisson(fraction) copies with replacement.
template <class T>
class SampleNode final : public Node<T> {
 public:
  SampleNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, bool with_replacement,
             double fraction, std::uint64_t seed)
      : Node<T>(id, "sample", parent->num_partitions()),
        parent_(std::move(parent)),
        with_replacement_(with_replacement),
        fraction_(fraction),
        seed_(seed) {
    this->add_narrow_parent(parent_);
    this->set_partitioner(parent_->partitioner());
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<T> out) override {
    SplitMix64 rng(hash_combine(seed_, p));
    auto body = [&](T&& x) {
      if (!with_replacement_) {
        if (rng.uniform() < fraction_) out(std::move(x));
        return;
      }
      std::uint32_t copies = rng.poisson(fraction_);
      for (std::uint32_t c = 0; c + 1 < copies; ++c) {
        T copy(x);
        out(std::move(copy));
      }
      if (copies > 0) out(std::move(x));
    };
    parent_->iterate(tc, p, Emit<T>(body));
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  bool with_replacement_;
  double fraction_;
  std::uint64_t seed_;
};

/// zip_with_index: (record, global index), given each partition's starting index.
template <class T>
class ZipWithIndexNode final : public Node<std::pair<T, std::uint64_t>> {
 public:
  ZipWithIndexNode(std::uint64_t id, std::shared_ptr<Node<T>> parent, std::vector<std::uint64_t> starts)
      : Node<std::pair<T, std::uint64_t>>(id, "zip_with_index", parent->num_partitions()),
        parent_(std::move(parent)),
        starts_(std::move(starts)) {
    this->add_narrow_parent(parent_);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<T, std::uint64_t>> out) override {
    std::uint64_t i = starts_[p];
    auto body = [&](T&& x) {
      std::pair<T, std::uint64_t> r(std::move(x), i++);
      out(std::move(r));
    };
    parent_->iterate(tc, p, Emit<T>(body));
  }

 private:
  std::shared_ptr<Node<T>> parent_;
  std::vector<std::uint64_t> starts_;
};

}  // namespace spate::detail
