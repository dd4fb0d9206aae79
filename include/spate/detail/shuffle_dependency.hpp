// ShuffleDependencyBase: the edge where a stage ends; its map tasks write bucketed output.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "spate/detail/graph_codec.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/error.hpp"

namespace spate::detail {

class NodeBase;

/// A wide dependency: the parent node's partitions are split into `num_reducers` buckets each.
/// The scheduler runs one map task per parent partition, then the child stage may read.
class ShuffleDependencyBase {
 public:
  ShuffleDependencyBase(int shuffle_id, std::shared_ptr<NodeBase> parent, std::size_t num_maps,
                        std::size_t num_reducers)
      : shuffle_id_(shuffle_id),
        parent_(std::move(parent)),
        num_maps_(num_maps),
        num_reducers_(num_reducers) {}
  virtual ~ShuffleDependencyBase() = default;

  /// Unique within the driver; names the shuffle's blocks.
  int shuffle_id() const noexcept { return shuffle_id_; }
  /// The node whose partitions are shuffled (the last node of the map stage); nullptr in a
  /// reference read by an executor, which only fetches the shuffle's buckets.
  const std::shared_ptr<NodeBase>& parent() const noexcept { return parent_; }
  /// Number of map tasks (the parent's partitions).
  std::size_t num_maps() const noexcept { return num_maps_; }
  /// Number of buckets each map task writes.
  std::size_t num_reducers() const noexcept { return num_reducers_; }

  /// Computes parent partition `map_partition` and stores its buckets in tc.blocks().
  virtual void run_map_task(TaskContext& tc, std::size_t map_partition) const = 0;
  /// The registry key of the concrete type.
  virtual const char* type_key() const noexcept = 0;
  /// Writes the type-specific state (parent lineage, functions) after the common header.
  virtual void save(GraphWriter& w) const = 0;

 private:
  int shuffle_id_;
  std::shared_ptr<NodeBase> parent_;
  std::size_t num_maps_;
  std::size_t num_reducers_;
};

/// A shuffle known by id and size only: what a reduce task outside the driver needs.
class ShuffleRef final : public ShuffleDependencyBase {
 public:
  ShuffleRef(int shuffle_id, std::size_t num_maps, std::size_t num_reducers)
      : ShuffleDependencyBase(shuffle_id, nullptr, num_maps, num_reducers) {}
  void run_map_task(TaskContext&, std::size_t) const override {
    throw error("shuffle " + std::to_string(shuffle_id()) +
                " is only referenced here: its map side was not shipped");
  }
  const char* type_key() const noexcept override { return "spate::detail::ShuffleRef"; }
  void save(GraphWriter&) const override {}
};

}  // namespace spate::detail
