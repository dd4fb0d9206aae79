// ContextCleaner: frees the shuffle outputs and cached partitions nobody can read any more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace spate::detail {

class Backend;
class NodeBase;
class ShuffleDependencyBase;

/// Spark's ContextCleaner, with weak pointers for its weak references: the scheduler tracks
/// every shuffle and cached node its jobs used, and sweep() frees, on every executor and in this
/// process, the blocks of those whose last handle has gone (no dataset, job or lineage holds
/// them). Thread-safe.
class ContextCleaner {
 public:
  explicit ContextCleaner(Backend& backend) : backend_(backend) {}

  /// Tracks a shuffle a job computed or read.
  void track(const std::shared_ptr<ShuffleDependencyBase>& shuffle);
  /// Tracks a cached node a job read or stored.
  void track(const std::shared_ptr<NodeBase>& cached);
  /// Frees the blocks of everything tracked that nobody holds any more; returns the ids of the
  /// shuffles freed.
  std::vector<int> sweep();
  /// Shuffles and cached nodes tracked and still held.
  std::pair<std::size_t, std::size_t> tracked() const;

 private:
  Backend& backend_;
  mutable std::mutex mutex_;
  std::map<int, std::weak_ptr<ShuffleDependencyBase>> shuffles_;
  std::map<std::uint64_t, std::weak_ptr<NodeBase>> cached_;
};

}  // namespace spate::detail
