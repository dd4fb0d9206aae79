// ShuffleDependencyBase: the edge where a stage ends; its map tasks write bucketed output.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "spate/detail/task_context.hpp"

namespace spate::detail {

class NodeBase;

/// A wide dependency: the parent node's partitions are split into `num_reducers` buckets each.
/// The scheduler runs one map task per parent partition, then the child stage may read.
class ShuffleDependencyBase {
 public:
  ShuffleDependencyBase(int shuffle_id, std::shared_ptr<NodeBase> parent, std::size_t num_reducers)
      : shuffle_id_(shuffle_id), parent_(std::move(parent)), num_reducers_(num_reducers) {}
  virtual ~ShuffleDependencyBase() = default;

  /// Unique within the driver; names the shuffle's blocks.
  int shuffle_id() const noexcept { return shuffle_id_; }
  /// The node whose partitions are shuffled (the last node of the map stage).
  const std::shared_ptr<NodeBase>& parent() const noexcept { return parent_; }
  /// Number of buckets each map task writes.
  std::size_t num_reducers() const noexcept { return num_reducers_; }

  /// Computes parent partition `map_partition` and stores its buckets in tc.blocks().
  virtual void run_map_task(TaskContext& tc, std::size_t map_partition) const = 0;

 private:
  int shuffle_id_;
  std::shared_ptr<NodeBase> parent_;
  std::size_t num_reducers_;
};

}  // namespace spate::detail
