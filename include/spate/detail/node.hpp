// The node contract: every dataset is a node of the lineage graph, and this is all a node is.
//
// A node is (1) a number of partitions, (2) a way to compute one partition by pushing its records
// to a consumer, (3) its dependencies: narrow parents (computed in the same task) and shuffle
// dependencies (whose map outputs must exist before this node can run), and optionally (4) the
// partitioner its records obey. Every operator is a small subclass filling in these four things.
// The scheduler sees only NodeBase; Node<T> adds the typed compute step.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/emit.hpp"
#include "spate/detail/graph_codec.hpp"
#include "spate/detail/partition_unroller.hpp"
#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/detail/thread_coroutine.hpp"
#include "spate/error.hpp"
#include "spate/partitioner.hpp"
#include "spate/record_traits.hpp"
#include "spate/storage_level.hpp"

namespace spate::detail {

class ShuffleDependencyBase;

/// Where a node sits in the lineage graph; the scheduler's view of any node.
class NodeBase {
 public:
  NodeBase(std::uint64_t id, std::string name, std::size_t num_partitions)
      : id_(id), name_(std::move(name)), num_partitions_(num_partitions) {}
  NodeBase(const NodeBase&) = delete;
  NodeBase& operator=(const NodeBase&) = delete;
  /// Releases its parents without recursing: dropping the last handle on a lineage thousands of
  /// nodes deep takes no more stack than dropping one node.
  virtual ~NodeBase();

  /// Unique within the driver; names the node's cached blocks.
  std::uint64_t id() const noexcept { return id_; }
  /// The operator that made this node ("map", "reduce_by_key", ...), for messages.
  const std::string& name() const noexcept { return name_; }
  /// Number of partitions this node computes.
  std::size_t num_partitions() const noexcept { return num_partitions_; }
  /// Parents computed inside the same task as this node.
  const std::vector<std::shared_ptr<NodeBase>>& narrow_parents() const noexcept {
    return narrow_parents_;
  }
  /// Shuffles whose outputs this node reads; each ends a parent stage.
  const std::vector<std::shared_ptr<ShuffleDependencyBase>>& shuffle_dependencies() const noexcept {
    return shuffle_dependencies_;
  }
  /// The partitioner this node's (key, value) records obey, or nullptr.
  const std::shared_ptr<const PartitionerBase>& partitioner() const noexcept {
    return partitioner_;
  }
  /// True when computed partitions are kept in the block store (see Dataset::persist).
  bool cached() const noexcept { return storage_level() != StorageLevel::none; }
  /// Where computed partitions are kept (StorageLevel::none: nowhere).
  StorageLevel storage_level() const noexcept { return level_.load(std::memory_order_acquire); }
  void set_storage_level(StorageLevel level) noexcept { level_.store(level, std::memory_order_release); }
  /// True when its partitions exist only in the block store of the process that computed them,
  /// with no lineage to compute them again (local checkpoints): a task reading one must run there.
  virtual bool pinned() const noexcept { return false; }

  /// The registry key of the concrete node type (see graph_codec.hpp).
  virtual const char* type_key() const noexcept = 0;
  /// Writes the type-specific state: parents (through w.node), functions, parameters.
  virtual void save(GraphWriter& w) const = 0;

  /// Throws spate::error saying that partition p is not one of this node's.
  [[noreturn]] void throw_no_such_partition(std::size_t p) const;

 protected:
  void add_narrow_parent(std::shared_ptr<NodeBase> p) { narrow_parents_.push_back(std::move(p)); }
  void add_shuffle_dependency(std::shared_ptr<ShuffleDependencyBase> d) {
    shuffle_dependencies_.push_back(std::move(d));
  }
  void set_partitioner(std::shared_ptr<const PartitionerBase> p) { partitioner_ = std::move(p); }

 private:
  std::uint64_t id_;
  std::string name_;
  std::size_t num_partitions_;
  std::vector<std::shared_ptr<NodeBase>> narrow_parents_;
  std::vector<std::shared_ptr<ShuffleDependencyBase>> shuffle_dependencies_;
  std::shared_ptr<const PartitionerBase> partitioner_;
  std::atomic<StorageLevel> level_{StorageLevel::none};
};

/// A node whose records are of type T.
template <class T>
class Node : public NodeBase {
 public:
  using NodeBase::NodeBase;
  using record_type = T;

  /// Pushes every record of partition p to `out`, in the same order on every run; serves the
  /// partition from the block store when the node is cached and the block is there.
  /// Throws spate::error when p is not one of its partitions.
  void iterate(TaskContext& tc, std::size_t p, Emit<T> out) {
    // A partition number can arrive over the wire (a task's Launch); past the end, compute()
    // would index its parents' and its own per-partition state out of bounds.
    if (p >= num_partitions()) throw_no_such_partition(p);
    if constexpr (std::is_same_v<T, owned_t<T>> && std::is_copy_constructible_v<T>) {
      if (cached()) {
        iterate_cached(tc, p, out);
        return;
      }
    }
    compute(tc, p, out);
  }

 protected:
  /// Computes partition p from the parents, pushing each record to `out`.
  virtual void compute(TaskContext& tc, std::size_t p, Emit<T> out) = 0;

 private:
  void iterate_cached(TaskContext& tc, std::size_t p, Emit<T> out) {
    auto entry = tc.blocks().cached_entry(id(), p);
    if (entry.block) {
      if (entry.on_disk) {
        if constexpr (is_serializable_v<T>) {
          read_from_disk(tc, *std::static_pointer_cast<const DiskPartition>(entry.block), out);
          return;
        }
      }
      std::size_t n = 0;
      for (const T& x : *std::static_pointer_cast<const std::vector<T>>(entry.block)) {
        if (n++ % kRecordsBetweenChecks == 0) tc.check_killed();
        T copy(x);
        out(std::move(copy));
      }
      return;
    }
    // Not here yet: each record goes downstream as it is computed, and a copy is kept where the
    // level says (PartitionUnroller), so no level holds the partition whole before passing it on.
    PartitionUnroller<T> kept(tc, storage_level());
    // A consumer that stops reading early (a map_partitions function, through
    // ThreadCoroutine::Stopped) would leave the partition unkept and computed again next time:
    // the rest is computed and kept first, then the stop goes on. One no longer kept stops at once.
    std::exception_ptr stopped;
    auto pass = [&](T&& x) {
      kept.keep(x);
      if (stopped) {
        if (!kept.keeping()) std::rethrow_exception(stopped);
        return;
      }
      try {
        out(std::move(x));
      } catch (const ThreadCoroutine::Stopped&) {
        if (!kept.keeping()) throw;
        stopped = std::current_exception();
      }
    };
    compute(tc, p, Emit<T>(pass));
    kept.finish(id(), p);
    if (stopped) std::rethrow_exception(stopped);
  }

  void read_from_disk(TaskContext& tc, const DiskPartition& disk, Emit<T> out) {
    RunReader<T> reader(*disk.file, 0, disk.file->size());
    std::size_t n = 0;
    while (auto x = reader.next()) {
      if (n++ % kRecordsBetweenChecks == 0) tc.check_killed();
      out(std::move(*x));
    }
  }
};

template <class T>
std::shared_ptr<Node<T>> GraphReader::node_of() {
  auto any = node();
  auto typed = std::dynamic_pointer_cast<Node<T>>(any);
  if (!typed)
    throw serialization_error("node " + std::to_string(any->id()) + " (" + any->name() +
                              ") does not have the record type its reader expects");
  return typed;
}

}  // namespace spate::detail
