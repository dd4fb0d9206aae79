// Checkpoints: the nodes that cut a lineage (Dataset::checkpoint and local_checkpoint) and the
// task code that writes them.
//
// Both are eager, as Spark's Dataset.checkpoint(eager = true): the call runs one job that
// computes the dataset once and stores each partition, then returns a dataset over a node with
// no parents. A lineage that grows with every iteration (PageRank, K-means) stays short, and the
// shuffles before the cut are freed once nothing else holds them (ContextCleaner).
//
// - checkpoint(): each partition is a part file under the Context's checkpoint directory, in the
//   object-file format (object_file_format.hpp), committed once per partition (PartOutputSink). Any executor can read any partition, so a
//   lost executor costs a re-read, never a recomputation from the old lineage.
// - local_checkpoint(): each partition stays in the memory of the process that computed it, as
//   a cached block. Faster, but a partition lost with its executor is gone: the node is pinned,
//   its tasks run only where its blocks are, and an action that needs a lost one fails saying so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "spate/detail/checkpoint_files.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/object_file_nodes.hpp"
#include "spate/detail/part_output_sink.hpp"
#include "spate/detail/run_partitions.hpp"
#include "spate/error.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// The job handler of checkpoint(): each task writes its partition's records as one object-file
/// part in `dir` (checksummed blocks, compressed with the spill codec), and commits it.
template <class T>
class CheckpointWriteHandler final : public ResultHandler,
                                     private Registered<CheckpointWriteHandler<T>, TypeKind::handler> {
  using Reg = Registered<CheckpointWriteHandler, TypeKind::handler>;

 public:
  CheckpointWriteHandler(const std::string& dir, std::shared_ptr<Node<T>> node, bool prepare = true)
      : sink_(dir, prepare), node_(std::move(node)) {}

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    serialize_to(w.out(), sink_.dir());
    w.node(node_);
  }
  static std::shared_ptr<CheckpointWriteHandler> load(GraphReader& r, const NodeHeader&) {
    auto dir = deserialize_from<std::string>(r.in());
    return std::make_shared<CheckpointWriteHandler>(dir, r.node_of<T>(), false);
  }
  // The part file is the result; nothing travels back.
  void save_result(std::size_t, Writer&) const override {}
  void load_result(std::size_t, Reader&) override {}

  std::size_t num_partitions() const noexcept override { return node_->num_partitions(); }
  void run_task(TaskContext& tc, std::size_t p) override {
    if (p >= node_->num_partitions()) node_->throw_no_such_partition(p);
    auto part = sink_.open_part(p, tc.attempt());
    PartWritten written = write_object_part(tc, p, *node_, *part, tc.blocks().spill_compression());
    tc.add_counter("checkpoint.records", written.records);
    tc.add_counter("checkpoint.bytes", written.bytes);
  }
  void job_succeeded() override { sink_.finish(num_partitions()); }
  void job_failed() noexcept override { sink_.abort(); }

 private:
  PartOutputSink sink_;
  std::shared_ptr<Node<T>> node_;
};

/// A checkpointed dataset: reads its partitions from the part files checkpoint() wrote. In the
/// driver it owns the files (they go with the node); a shipped copy only reads them.
template <class R>
class CheckpointNode final : public Node<R>, private Registered<CheckpointNode<R>, TypeKind::node> {
  using Reg = Registered<CheckpointNode, TypeKind::node>;

 public:
  CheckpointNode(std::uint64_t id, std::string dir, std::size_t partitions,
                 std::shared_ptr<const PartitionerBase> partitioner,
                 std::shared_ptr<const CheckpointDirectory> owner)
      : Node<R>(id, "checkpoint", partitions), dir_(std::move(dir)), owner_(std::move(owner)) {
    this->set_partitioner(std::move(partitioner));
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override { serialize_to(w.out(), dir_); }
  static std::shared_ptr<CheckpointNode> load(GraphReader& r, const NodeHeader& h) {
    auto dir = deserialize_from<std::string>(r.in());
    return std::make_shared<CheckpointNode>(h.id, std::move(dir), h.partitions, nullptr, nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<R> out) override {
    tc.add_counter("input.records", read_object_split(tc, checkpoint_part_split(dir_, p), out));
  }

 private:
  std::string dir_;
  std::shared_ptr<const CheckpointDirectory> owner_;  // null in a shipped copy
};

/// A locally checkpointed dataset: its partitions are cached blocks in the processes that
/// computed them, and nothing else. Pinned: a task reading one runs where it is.
template <class R>
class LocalCheckpointNode final : public Node<R>, private Registered<LocalCheckpointNode<R>, TypeKind::node> {
  using Reg = Registered<LocalCheckpointNode, TypeKind::node>;

 public:
  LocalCheckpointNode(std::uint64_t id, std::size_t partitions,
                      std::shared_ptr<const PartitionerBase> partitioner)
      : Node<R>(id, "local_checkpoint", partitions) {
    this->set_partitioner(std::move(partitioner));
    this->set_storage_level(StorageLevel::memory_only);
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  bool pinned() const noexcept override { return true; }
  void save(GraphWriter&) const override {}
  static std::shared_ptr<LocalCheckpointNode> load(GraphReader&, const NodeHeader& h) {
    return std::make_shared<LocalCheckpointNode>(h.id, h.partitions, nullptr);
  }

 protected:
  // Reached only when the block is not here: there is no lineage to compute it from.
  void compute(TaskContext&, std::size_t p, Emit<R>) override {
    throw error(fmt::format(
        "partition {} of local checkpoint {} is not in this process: local_checkpoint() keeps a "
        "partition only in the memory of the executor that computed it, and it was lost with "
        "that executor, or this task (a coalesce across executors) reads partitions held "
        "elsewhere; use checkpoint(), which writes to a checkpoint directory, to survive "
        "executor loss and be read anywhere",
        p, this->id()));
  }
};

/// The task of local_checkpoint(): computes partition p of `node` and stores it as the cached
/// block (block, p) of this process; returns its record count. Throws spate::error when the
/// block does not fit in the memory this process may use for cached partitions.
template <class T>
std::uint64_t store_local_checkpoint(TaskContext& tc, std::size_t p, Node<T>& node, std::uint64_t block) {
  using R = owned_t<T>;
  auto records = std::make_shared<std::vector<R>>();
  for_each_record(tc, p, node, [&](T&& x) { records->push_back(to_owned_move(std::move(x))); });
  records->shrink_to_fit();
  std::size_t bytes = records->capacity() * sizeof(R);
  std::uint64_t count = records->size();
  if (!tc.blocks().put_cached_block(block, p, std::move(records), bytes))
    throw error(fmt::format(
        "local_checkpoint(): partition {} ({} bytes) does not fit in the memory this process may "
        "use for cached partitions ({} bytes, --executor-memory); give it more memory, use more "
        "partitions, or use checkpoint(), which writes to disk",
        p, bytes, tc.blocks().budget()));
  tc.note_cached(block);
  return count;
}

}  // namespace spate::detail
