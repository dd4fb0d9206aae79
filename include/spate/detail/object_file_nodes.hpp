// Object files in the graph: writing and reading one part's records, the job handler of
// save_as_object_file and the source node of Context::object_file. The format and its reader
// are in object_file_format.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spate/detail/block_store.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/object_file_format.hpp"
#include "spate/detail/part_output_sink.hpp"
#include "spate/record_traits.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// The records and bytes of a part just written.
struct PartWritten {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
};

/// Writes partition p of node into `part` as an object file (a header naming owned_t<T>, blocks
/// of about 1 MiB compressed with codec, the index) and commits it. Used by save_as_object_file
/// and checkpoint().
template <class T>
PartWritten write_object_part(TaskContext& tc, std::size_t p, Node<T>& node, PartOutputSink::Part& part,
                              Codec codec) {
  // Records are read back as owned_t<T>, which a view (std::string_view) serializes the same as.
  ObjectFileWriter out(part, object_type_name<owned_t<T>>(), codec);
  Writer records;
  std::uint64_t count = 0, in_block = 0;
  auto keep = [&](T&& x) {
    serialize_to(records, x);
    ++count;
    ++in_block;
    if (records.size() >= kObjectBlockBytes) {
      out.add_block(records.view(), in_block);
      records.clear();
      in_block = 0;
    }
  };
  node.iterate(tc, p, Emit<T>(keep));
  out.add_block(records.view(), in_block);
  out.finish();
  part.commit();
  return {count, out.bytes_written()};
}

/// Emits the records of the blocks that start in `split` of an object file of R records;
/// returns how many. Used by object_file and checkpoint().
template <class R>
std::uint64_t read_object_split(TaskContext& tc, const ObjectFileSplit& split, Emit<R>& out) {
  ObjectSplitReader in(split, object_type_name<R>());
  std::string_view block;
  std::uint64_t count = 0, n = 0;
  while (in.next(block, count)) {
    Reader records(block);
    auto read_one = [&]() -> R {
      try {
        return deserialize_from<R>(records);
      } catch (const serialization_error& e) {
        in.throw_bad_records(e.what());
      }
    };
    for (std::uint64_t i = 0; i < count; ++i) {
      if (n++ % kRecordsBetweenChecks == 0) tc.check_killed();
      out(read_one());
    }
    if (!records.at_end()) in.throw_bad_records("bytes are left after the block's last record");
  }
  return n;
}

/// The job handler of save_as_object_file: each task writes its partition's records, in blocks,
/// as one part, and commits it.
template <class T>
class ObjectFileOutputHandler final : public ResultHandler,
                                      private Registered<ObjectFileOutputHandler<T>, TypeKind::handler> {
  using Reg = Registered<ObjectFileOutputHandler, TypeKind::handler>;

 public:
  ObjectFileOutputHandler(const std::string& dir, std::shared_ptr<Node<T>> node, bool prepare = true)
      : sink_(dir, prepare), node_(std::move(node)) {}

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    serialize_to(w.out(), sink_.dir());
    w.node(node_);
  }
  static std::shared_ptr<ObjectFileOutputHandler> load(GraphReader& r, const NodeHeader&) {
    auto dir = deserialize_from<std::string>(r.in());
    return std::make_shared<ObjectFileOutputHandler>(dir, r.node_of<T>(), false);
  }
  // What the driver needs to publish the part: nothing for a local directory (the task renamed
  // it), the open multipart upload for S3.
  void save_result(std::size_t p, Writer& w) const override { serialize_to(w, sink_.receipt(p)); }
  void load_result(std::size_t p, Reader& r) override {
    sink_.accept(p, deserialize_from<std::string>(r));
  }

  std::size_t num_partitions() const noexcept override { return node_->num_partitions(); }
  void run_task(TaskContext& tc, std::size_t p) override {
    if (p >= node_->num_partitions()) node_->throw_no_such_partition(p);
    auto part = sink_.open_part(p, tc.attempt());
    PartWritten written = write_object_part(tc, p, *node_, *part, tc.blocks().shuffle_compression());
    tc.add_counter("output.records", written.records);
    tc.add_counter("output.bytes", written.bytes);
  }
  void job_succeeded() override { sink_.finish(num_partitions()); }
  void job_failed() noexcept override { sink_.abort(); }

 private:
  PartOutputSink sink_;
  std::shared_ptr<Node<T>> node_;
};

/// The source node of Context::object_file: one partition per split, each the records of the
/// blocks that start in it.
template <class R>
class ObjectFileNode final : public Node<R>, private Registered<ObjectFileNode<R>, TypeKind::node> {
  using Reg = Registered<ObjectFileNode, TypeKind::node>;

 public:
  ObjectFileNode(std::uint64_t id, std::vector<ObjectFileSplit> splits)
      : Node<R>(id, "object_file", splits.size()), splits_(std::move(splits)) {}

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override { save_object_file_splits(w.out(), splits_); }
  static std::shared_ptr<ObjectFileNode> load(GraphReader& r, const NodeHeader& h) {
    return std::make_shared<ObjectFileNode>(h.id, load_object_file_splits(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<R> out) override {
    const ObjectFileSplit& split = splits_[p];
    tc.add_counter("input.records", read_object_split(tc, split, out));
    tc.add_counter("input.bytes", split.end - split.begin);
  }

 private:
  std::vector<ObjectFileSplit> splits_;
};

}  // namespace spate::detail
