// How a stage's lineage crosses processes: the operator registry and the graph reader/writer.
//
// Executors run the same executable as the driver, so every operator type the driver can build
// exists in the executor too; only data is shipped. Each node, shuffle and job-handler type
// registers a loader under a stable key (its type's mangled name) while the program starts: the
// key registers through an inline static member that the type's constructor odr-uses, so any
// type the driver's code can construct is registered in every process of the binary. A task then
// carries its stage as (key, state) records that the executor turns back into objects.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "spate/serialization.hpp"
#include "spate/storage_level.hpp"

namespace spate::detail {

class NodeBase;
template <class T>
class Node;
class ShuffleDependencyBase;
class GraphReader;

/// What a registered type is, so a key of the wrong kind is refused rather than miscast.
enum class TypeKind : std::uint8_t { node, shuffle, handler };

/// The most partitions (and, for a shuffle, map partitions) a shipped node may declare. A reader
/// sizes things by these counts (a job handler keeps a slot per partition), and they cannot be
/// checked against the bytes that remain, so GraphReader refuses larger ones.
inline constexpr std::uint64_t kMaxShippedPartitions = std::uint64_t{1} << 20;

/// The deepest chain of nested nodes a shipped stage may hold. Reading a node reads its parents
/// first, recursively, so a deeper chain would overflow a task thread's stack; GraphReader
/// refuses it instead, and GraphWriter refuses to write it, so the driver fails such a job at
/// once. Chained narrow operators are one node, so real lineages stay far below.
inline constexpr std::size_t kMaxShippedDepth = 1000;

/// The common part of every node record, read before the type-specific state. For a shuffle,
/// id is the shuffle id, partitions the number of reducers and maps the number of map partitions.
struct NodeHeader {
  std::uint64_t id = 0;
  std::string name;
  std::uint64_t partitions = 0;
  std::uint64_t maps = 0;
  StorageLevel level = StorageLevel::none;
};

/// Rebuilds an object of a registered type from its state.
using TypeLoader = std::shared_ptr<void> (*)(GraphReader&, const NodeHeader&);

/// Adds a type to the operator registry (the one process-wide table spate keeps); called during
/// static initialisation; returns the key the type is known by. That is its mangled name, except
/// that types of the same name from different translation units (lambdas in functions with
/// internal linkage, say) get "#2", "#3"... in registration order, which is the same in every
/// process of the same executable.
std::string register_type(const char* name, TypeKind kind, TypeLoader load);

/// The loader of `key`; throws serialization_error when the key is unknown or of another kind
/// (a driver and executor built from different sources).
TypeLoader find_type(std::string_view key, TypeKind kind);

/// Base of every shippable type: registers Self under its mangled name. Self provides
/// `static std::shared_ptr<Self> load(GraphReader&, const NodeHeader&)`.
template <class Self, TypeKind Kind>
class Registered {
 public:
  /// The key Self is registered under.
  static const char* registered_key() noexcept { return key_.c_str(); }

 protected:
  Registered() noexcept { (void)key_; }  // the odr-use that instantiates the registrar

 private:
  static std::shared_ptr<void> load_erased(GraphReader& r, const NodeHeader& h) {
    return Self::load(r, h);
  }
  static inline const std::string key_ =
      register_type(typeid(Self).name(), Kind, &Registered::load_erased);
};

/// Writes objects of registered types; a node reached twice is written once and referenced.
class GraphWriter {
 public:
  explicit GraphWriter(Writer& out) : out_(out) {}
  /// The byte stream, for type-specific state.
  Writer& out() noexcept { return out_; }
  /// Writes node n (with its narrow parents, recursively) or a reference to it. Throws
  /// serialization_error when the nodes nest more than kMaxShippedDepth deep.
  void node(const std::shared_ptr<NodeBase>& n);
  /// Writes a shuffle's map side in full: its type, state and parent lineage (for map tasks).
  void shuffle(const ShuffleDependencyBase& d);
  /// Writes only what a reader of the shuffle needs: id and sizes (for reduce-side nodes).
  void shuffle_ref(const ShuffleDependencyBase& d);

 private:
  Writer& out_;
  std::map<const NodeBase*, std::uint64_t> written_;
  std::size_t depth_ = 0;  // as the reader will count it
};

/// Reads what a GraphWriter wrote, rebuilding nodes through the registry.
class GraphReader {
 public:
  explicit GraphReader(Reader& in) : in_(in) {}
  /// The byte stream, for type-specific state.
  Reader& in() noexcept { return in_; }
  /// Reads a node (or a reference to one read before).
  std::shared_ptr<NodeBase> node();
  /// Reads a node whose records must be of type T; throws serialization_error otherwise.
  template <class T>
  std::shared_ptr<Node<T>> node_of();
  /// Reads a full shuffle (map side).
  std::shared_ptr<ShuffleDependencyBase> shuffle();
  /// Reads a shuffle reference: enough to fetch its buckets, not to run its map tasks.
  std::shared_ptr<ShuffleDependencyBase> shuffle_ref();

 private:
  Reader& in_;
  std::vector<std::shared_ptr<NodeBase>> loaded_;
  std::size_t depth_ = 0;
};

/// Writes a registered object's key and state (used for job handlers).
template <class T>
void write_registered(GraphWriter& w, const T& object) {
  serialize_to(w.out(), std::string_view(object.type_key()));
  object.save(w);
}

/// Reads an object written by write_registered, of registered kind `kind`, as a Base.
template <class Base>
std::shared_ptr<Base> read_registered(GraphReader& r, TypeKind kind) {
  std::string key = deserialize_from<std::string>(r.in());
  TypeLoader load = find_type(key, kind);
  return std::static_pointer_cast<Base>(load(r, NodeHeader{}));
}

}  // namespace spate::detail
