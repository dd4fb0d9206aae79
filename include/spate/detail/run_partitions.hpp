// run_partitions: the one way an action runs: compute a per-partition result for each partition.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "spate/detail/engine.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/state_codec.hpp"
#include "spate/job_handle.hpp"

namespace spate::detail {

/// A ResultHandler that keeps fn's result for each partition; a retried task overwrites its slot.
template <class T, class R, class Fn>
class PartitionResults final : public ResultHandler,
                               private Registered<PartitionResults<T, R, Fn>, TypeKind::handler> {
  using Reg = Registered<PartitionResults, TypeKind::handler>;

 public:
  PartitionResults(std::shared_ptr<Node<T>> node, Fn fn)
      : node_(std::move(node)), fn_(std::move(fn)), results_(node_->num_partitions()) {}
  std::size_t num_partitions() const noexcept override { return results_.size(); }
  void run_task(TaskContext& tc, std::size_t p) override {
    if (p >= results_.size()) node_->throw_no_such_partition(p);
    Fn fn = fn_;  // a task's own copy of the function
    results_[p].emplace(fn(tc, p, *node_));
  }
  std::optional<R>& at(std::size_t p) { return results_[p]; }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.node(node_);
    save_state(w.out(), fn_);
  }
  static std::shared_ptr<PartitionResults> load(GraphReader& r, const NodeHeader&) {
    auto node = r.node_of<T>();
    return std::make_shared<PartitionResults>(std::move(node), load_state<Fn>(r.in()));
  }
  void save_result(std::size_t p, Writer& w) const override { serialize_to(w, *results_.at(p)); }
  void load_result(std::size_t p, Reader& r) override {
    results_.at(p).emplace(deserialize_from<R>(r));
  }

 private:
  std::shared_ptr<Node<T>> node_;
  Fn fn_;
  std::vector<std::optional<R>> results_;
};

/// Starts fn(tc, p, node) -> R on the given partitions (all when empty) as one job; the handle's
/// get() returns finish(results in partition order).
template <class T, class Fn, class Finish>
auto run_partitions_async(const std::shared_ptr<Engine>& engine, const std::shared_ptr<Node<T>>& node, Fn fn,
                          Finish finish, std::vector<std::size_t> parts = {}) {
  using R = std::invoke_result_t<Fn&, TaskContext&, std::size_t, Node<T>&>;
  using Out = std::invoke_result_t<Finish&, std::vector<R>&&>;
  // Each partition's result crosses from an executor: an action on records spate cannot
  // serialise (collect, take, reduce, ...) fails here, at the user's call.
  require_serializable<R>();
  if (parts.empty())
    for (std::size_t p = 0; p < node->num_partitions(); ++p) parts.push_back(p);
  auto handler = std::make_shared<PartitionResults<T, R, Fn>>(node, std::move(fn));
  auto control = engine->submit_job(node, *handler, parts, handler);
  return JobHandle<Out>(engine, std::move(control),
                        [handler, parts = std::move(parts), finish = std::move(finish)]() mutable -> Out {
                          std::vector<R> out;
                          out.reserve(parts.size());
                          for (std::size_t p : parts) out.push_back(std::move(*handler->at(p)));
                          return finish(std::move(out));
                        });
}

/// Runs fn(tc, p, node) -> R for the given partitions (all when empty) as one job and returns
/// the results in partition order.
template <class T, class Fn>
auto run_partitions(Engine& engine, const std::shared_ptr<Node<T>>& node, Fn fn,
                    std::vector<std::size_t> parts = {}) {
  using R = std::invoke_result_t<Fn&, TaskContext&, std::size_t, Node<T>&>;
  if (parts.empty())
    for (std::size_t p = 0; p < node->num_partitions(); ++p) parts.push_back(p);
  PartitionResults<T, R, Fn> handler(node, std::move(fn));
  engine.run_job(node, handler, parts);
  std::vector<R> out;
  out.reserve(parts.size());
  for (std::size_t p : parts) out.push_back(std::move(*handler.at(p)));
  return out;
}

/// Calls f(record) for every record of partition p of node.
template <class T, class F>
void for_each_record(TaskContext& tc, std::size_t p, Node<T>& node, F&& f) {
  auto body = [&f](T&& x) { f(std::move(x)); };
  node.iterate(tc, p, Emit<T>(body));
}

}  // namespace spate::detail
