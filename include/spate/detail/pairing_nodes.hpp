// Narrow nodes that pair the partitions of two datasets: zip, zip_partitions and cartesian. Each
// holds one side's partition in memory while it reads the other, as Spark's do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spate/detail/node.hpp"
#include "spate/detail/state_codec.hpp"
#include "spate/error.hpp"

namespace spate::detail {

/// Throws config_error unless two datasets to be paired partition by partition have as many
/// partitions.
inline void require_same_partitions(const char* op, std::size_t left, std::size_t right) {
  if (left != right) {
    throw config_error(std::string(op) + ": the datasets have " + std::to_string(left) + " and " +
                       std::to_string(right) + " partitions; " + op +
                       " pairs partition i of one with partition i of the other, so it needs "
                       "the same number (repartition or coalesce one of them)");
  }
}

/// The records of partition p of a node, in order.
template <class T>
std::vector<T> partition_records(TaskContext& tc, Node<T>& node, std::size_t p) {
  std::vector<T> records;
  auto keep = [&records](T&& x) { records.push_back(std::move(x)); };
  node.iterate(tc, p, Emit<T>(keep));
  return records;
}

/// zip: (a_i, b_i) for the i-th records of partition p of both parents, which must have the same
/// number of partitions (checked when the node is made) and of records in each (checked as the
/// partition is read: Spark fails the same way).
template <class A, class B>
class ZipNode final : public Node<std::pair<A, B>>, private Registered<ZipNode<A, B>, TypeKind::node> {
  using Reg = Registered<ZipNode, TypeKind::node>;
  using Out = std::pair<A, B>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  ZipNode(std::uint64_t id, std::shared_ptr<Node<A>> left, std::shared_ptr<Node<B>> right)
      : Node<Out>(id, "zip", left->num_partitions()), left_(std::move(left)), right_(std::move(right)) {
    require_same_partitions("zip", left_->num_partitions(), right_->num_partitions());
    this->add_narrow_parent(left_);
    this->add_narrow_parent(right_);
  }
  void save(GraphWriter& w) const override {
    w.node(left_);
    w.node(right_);
  }
  static std::shared_ptr<ZipNode> load(GraphReader& r, const NodeHeader& h) {
    auto left = r.node_of<A>();
    auto right = r.node_of<B>();
    return std::make_shared<ZipNode>(h.id, std::move(left), std::move(right));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Out> out) override {
    std::vector<B> right = partition_records(tc, *right_, p);
    std::size_t i = 0;
    auto body = [&](A&& a) {
      if (i == right.size()) throw mismatch(p, "more", right.size());
      Out pair(std::move(a), std::move(right[i++]));
      out(std::move(pair));
    };
    left_->iterate(tc, p, Emit<A>(body));
    if (i != right.size()) throw mismatch(p, "fewer", right.size());
  }

 private:
  static error mismatch(std::size_t p, const char* left_has, std::size_t right_count) {
    return error("zip: partition " + std::to_string(p) + " of the left dataset has " + left_has +
                 " records than the right one's " + std::to_string(right_count) +
                 "; zip needs the same number of records in each partition (zip_with_index and "
                 "a join pair records of any counts)");
  }

  std::shared_ptr<Node<A>> left_;
  std::shared_ptr<Node<B>> right_;
};

/// zip_partitions: f(p, records of left p, records of right p) returns a range of U.
template <class A, class B, class U, class F>
class ZipPartitionsNode final : public Node<U>,
                                private Registered<ZipPartitionsNode<A, B, U, F>, TypeKind::node> {
  using Reg = Registered<ZipPartitionsNode, TypeKind::node>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  ZipPartitionsNode(std::uint64_t id, std::shared_ptr<Node<A>> left, std::shared_ptr<Node<B>> right, F f)
      : Node<U>(id, "zip_partitions", left->num_partitions()),
        left_(std::move(left)),
        right_(std::move(right)),
        f_(std::move(f)) {
    require_same_partitions("zip_partitions", left_->num_partitions(), right_->num_partitions());
    this->add_narrow_parent(left_);
    this->add_narrow_parent(right_);
  }
  void save(GraphWriter& w) const override {
    w.node(left_);
    w.node(right_);
    save_state(w.out(), f_);
  }
  static std::shared_ptr<ZipPartitionsNode> load(GraphReader& r, const NodeHeader& h) {
    auto left = r.node_of<A>();
    auto right = r.node_of<B>();
    return std::make_shared<ZipPartitionsNode>(h.id, std::move(left), std::move(right),
                                               load_state<F>(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<U> out) override {
    std::vector<A> left = partition_records(tc, *left_, p);
    std::vector<B> right = partition_records(tc, *right_, p);
    F f = f_;  // each task gets its own copy of the function
    auto&& result = f(p, std::move(left), std::move(right));
    for (auto&& y : result) {
      U v(std::move(y));
      out(std::move(v));
    }
  }

 private:
  std::shared_ptr<Node<A>> left_;
  std::shared_ptr<Node<B>> right_;
  F f_;
};

/// cartesian: partition i * n + j (n: the right side's partitions) pairs every record of left
/// partition i with every record of right partition j, left records in the outer loop.
template <class A, class B>
class CartesianNode final : public Node<std::pair<A, B>>,
                            private Registered<CartesianNode<A, B>, TypeKind::node> {
  using Reg = Registered<CartesianNode, TypeKind::node>;
  using Out = std::pair<A, B>;

 public:
  const char* type_key() const noexcept override { return Reg::registered_key(); }

  CartesianNode(std::uint64_t id, std::shared_ptr<Node<A>> left, std::shared_ptr<Node<B>> right)
      : Node<Out>(id, "cartesian", left->num_partitions() * right->num_partitions()),
        left_(std::move(left)),
        right_(std::move(right)) {
    this->add_narrow_parent(left_);
    this->add_narrow_parent(right_);
  }
  void save(GraphWriter& w) const override {
    w.node(left_);
    w.node(right_);
  }
  static std::shared_ptr<CartesianNode> load(GraphReader& r, const NodeHeader& h) {
    auto left = r.node_of<A>();
    auto right = r.node_of<B>();
    return std::make_shared<CartesianNode>(h.id, std::move(left), std::move(right));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<Out> out) override {
    const std::size_t n = right_->num_partitions();
    std::vector<B> right = partition_records(tc, *right_, p % n);
    std::size_t pairs = 0;
    auto body = [&](A&& a) {
      for (const B& b : right) {
        if (pairs++ % kRecordsBetweenChecks == 0) tc.check_killed();
        Out pair(a, b);
        out(std::move(pair));
      }
    };
    left_->iterate(tc, p / n, Emit<A>(body));
  }

 private:
  std::shared_ptr<Node<A>> left_;
  std::shared_ptr<Node<B>> right_;
};

}  // namespace spate::detail
