// The operator registry and the graph reader/writer.
#include "spate/detail/graph_codec.hpp"

#include <fmt/format.h>

#include <limits>
#include <mutex>
#include <unordered_map>

#include "spate/detail/nesting_guard.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

// The writer and the reader count the same levels: every node() (a reference too) and every
// shuffle().
[[noreturn]] void refuse_deep_stage() {
  throw serialization_error(fmt::format(
      "a shipped stage nests nodes more than {} deep; a lineage that long must be cut part-way "
      "with checkpoint() or local_checkpoint(), or by a shuffle (repartition, say), which ends a "
      "stage",
      kMaxShippedDepth));
}

struct Entry {
  TypeKind kind;
  TypeLoader load;
};

// The operator registry: filled during static initialisation, read-only afterwards. A function
// static, so registration works whatever order translation units initialise in.
struct Registry {
  std::mutex mutex;
  std::unordered_map<std::string, Entry> entries;
};

Registry& registry() {
  static Registry r;
  return r;
}

const char* kind_name(TypeKind k) {
  switch (k) {
    case TypeKind::node: return "node";
    case TypeKind::shuffle: return "shuffle";
    case TypeKind::handler: return "job handler";
  }
  return "?";
}

// Record tags of GraphWriter::node: 0 starts a new node, n > 0 refers to node n - 1.
constexpr std::uint64_t kNewNode = 0;

}  // namespace

std::string register_type(const char* name, TypeKind kind, TypeLoader load) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::string key = name;
  for (int n = 2;; ++n) {
    auto [it, inserted] = r.entries.try_emplace(key, Entry{kind, load});
    if (inserted || it->second.load == load) return key;
    key = fmt::format("{}#{}", name, n);
  }
}

TypeLoader find_type(std::string_view key, TypeKind kind) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.entries.find(std::string(key));
  if (it == r.entries.end())
    throw serialization_error(fmt::format(
        "unknown operator type '{}' ({}): this process runs a different build than the one that "
        "sent it",
        key, kind_name(kind)));
  if (it->second.kind != kind)
    throw serialization_error(fmt::format("operator type '{}' is a {}, not a {}", key,
                                          kind_name(it->second.kind), kind_name(kind)));
  return it->second.load;
}

void GraphWriter::node(const std::shared_ptr<NodeBase>& n) {
  NestingGuard nesting(depth_, kMaxShippedDepth, &refuse_deep_stage);
  auto it = written_.find(n.get());
  if (it != written_.end()) {
    out_.write_varint(it->second + 1);
    return;
  }
  out_.write_varint(kNewNode);
  serialize_to(out_, std::string_view(n->type_key()));
  out_.write_varint(n->id());
  serialize_to(out_, n->name());
  out_.write_varint(n->num_partitions());
  serialize_to(out_, static_cast<std::uint8_t>(n->storage_level()));
  n->save(*this);
  // Numbered after its parents were written, as the reader appends in the same order.
  written_.emplace(n.get(), written_.size());
}

void GraphWriter::shuffle(const ShuffleDependencyBase& d) {
  NestingGuard nesting(depth_, kMaxShippedDepth, &refuse_deep_stage);
  serialize_to(out_, std::string_view(d.type_key()));
  shuffle_ref(d);
  d.save(*this);
}

void GraphWriter::shuffle_ref(const ShuffleDependencyBase& d) {
  out_.write_varint(static_cast<std::uint64_t>(d.shuffle_id()));
  out_.write_varint(d.num_maps());
  out_.write_varint(d.num_reducers());
}

std::shared_ptr<NodeBase> GraphReader::node() {
  NestingGuard nesting(depth_, kMaxShippedDepth, &refuse_deep_stage);
  std::uint64_t tag = in_.read_varint();
  if (tag != kNewNode) {
    if (tag > loaded_.size())
      throw serialization_error(fmt::format("node reference {} points past the {} nodes read",
                                            tag - 1, loaded_.size()));
    return loaded_[tag - 1];
  }
  std::string key = deserialize_from<std::string>(in_);
  NodeHeader h;
  h.id = in_.read_varint();
  h.name = deserialize_from<std::string>(in_);
  h.partitions = in_.read_varint();
  if (h.partitions > kMaxShippedPartitions)
    throw serialization_error(fmt::format("node {} ({}) was sent with {} partitions, more than {}",
                                          h.id, h.name, h.partitions, kMaxShippedPartitions));
  auto level = deserialize_from<std::uint8_t>(in_);
  if (level > static_cast<std::uint8_t>(StorageLevel::memory_and_disk))
    throw serialization_error(fmt::format("node {} ({}) was sent with storage level {}, which is none of spate's",
                                          h.id, h.name, level));
  h.level = static_cast<StorageLevel>(level);
  auto n = std::static_pointer_cast<NodeBase>(find_type(key, TypeKind::node)(*this, h));
  if (n->num_partitions() != h.partitions)
    throw serialization_error(fmt::format("node {} ({}) was sent with {} partitions but has {}",
                                          h.id, h.name, h.partitions, n->num_partitions()));
  n->set_storage_level(h.level);
  loaded_.push_back(n);
  return n;
}

namespace {
NodeHeader read_shuffle_header(Reader& in) {
  NodeHeader h;
  h.id = in.read_varint();
  h.maps = in.read_varint();
  h.partitions = in.read_varint();
  if (h.id > static_cast<std::uint64_t>(std::numeric_limits<int>::max()) || h.partitions == 0 ||
      h.partitions > kMaxShippedPartitions || h.maps > kMaxShippedPartitions)
    throw serialization_error(fmt::format("malformed shuffle header (id {}, {} maps, {} reducers)",
                                          h.id, h.maps, h.partitions));
  return h;
}
}  // namespace

std::shared_ptr<ShuffleDependencyBase> GraphReader::shuffle() {
  NestingGuard nesting(depth_, kMaxShippedDepth, &refuse_deep_stage);
  std::string key = deserialize_from<std::string>(in_);
  TypeLoader load = find_type(key, TypeKind::shuffle);
  NodeHeader h = read_shuffle_header(in_);
  auto d = std::static_pointer_cast<ShuffleDependencyBase>(load(*this, h));
  // The map side's parent and partitioner decide its sizes; they must be what the header says.
  if (d->num_maps() != h.maps || d->num_reducers() != h.partitions)
    throw serialization_error(fmt::format(
        "shuffle {} was sent with {} maps and {} reducers but has {} and {}", h.id, h.maps,
        h.partitions, d->num_maps(), d->num_reducers()));
  return d;
}

std::shared_ptr<ShuffleDependencyBase> GraphReader::shuffle_ref() {
  NodeHeader h = read_shuffle_header(in_);
  return std::make_shared<ShuffleRef>(static_cast<int>(h.id), h.maps, h.partitions);
}

}  // namespace spate::detail
