// The shuffle: map-side writers (combining or plain) and the reduce-side nodes that read buckets.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "spate/detail/aggregation_table.hpp"
#include "spate/detail/big_allocator.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/external_aggregation.hpp"
#include "spate/detail/external_sort.hpp"
#include "spate/detail/map_output_builder.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/detail/state_codec.hpp"
#include "spate/detail/string_key_table.hpp"
#include "spate/detail/table_hash.hpp"
#include "spate/error.hpp"
#include "spate/hash.hpp"
#include "spate/partitioner.hpp"
#include "spate/record_traits.hpp"

namespace spate::detail {

/// Where an aggregation table sits; with the node and partition, it makes the table's salt.
enum class TableRole : std::uint64_t { map_side = 1, reduce_side = 2, local = 3 };

/// The salt of a table (see StringKeyTable): the same on every run of a task, and different for
/// tables that feed one another (a map side and its reduce side, two nodes, two partitions).
inline std::uint64_t table_salt(TableRole role, std::uint64_t owner, std::size_t partition) noexcept {
  return hash_combine(hash_combine(static_cast<std::uint64_t>(role), owner), partition);
}

/// Reads one record of type R. A pair whose key is a std::string_view gets a view into `in`'s
/// bytes (valid while they are), read where a std::string key was written: no copy per record.
template <class R>
inline constexpr bool is_view_keyed_v = false;
template <class X>
inline constexpr bool is_view_keyed_v<std::pair<std::string_view, X>> = true;

template <class R>
R read_record(Reader& in) {
  if constexpr (is_view_keyed_v<R>) {
    const std::string_view key = in.read_view(in.read_count(1));
    return R(key, deserialize_from<typename R::second_type>(in));
  } else {
    return deserialize_from<R>(in);
  }
}

/// Calls f for every record that map tasks 0..num_maps-1 wrote for reduce partition p, in
/// map-partition order (so the order is the same on every run): f(R&&) for records read from
/// bytes, f(const R&) for those kept unserialized (they stay in the map output).
template <class R, class F>
void read_buckets(TaskContext& tc, const ShuffleDependencyBase& dep, std::size_t p, F&& f) {
  std::uint64_t records = 0, bytes = 0, remote_bytes = 0;
  std::chrono::steady_clock::duration fetch_time{};
  // Outputs in this process are read in place; the others are requested at once, before the
  // first is read, so that fetching overlaps reading. Without a fetcher (local modes) every
  // output is here. A local output is looked up again when its turn comes (the first look-up
  // lets go of it): one waiting its turn may move to disk meanwhile.
  std::vector<bool> is_remote;
  std::unique_ptr<BlockStream> fetched_blocks;
  if (tc.fetcher() != nullptr) {
    is_remote.resize(dep.num_maps());
    std::vector<std::size_t> remote;
    for (std::size_t m = 0; m < dep.num_maps(); ++m)
      if (!tc.blocks().map_output(dep.shuffle_id(), m)) {
        is_remote[m] = true;
        remote.push_back(m);
      }
    if (!remote.empty()) fetched_blocks = tc.fetcher()->open(dep.shuffle_id(), p, std::move(remote));
  }
  ChunkDecoder decoder;
  bool consumer_threw = false;
  ChunkDecoder::Sink records_of;
  PieceSink local_piece;  // made once: a std::function per bucket would allocate per bucket
  if constexpr (is_serializable_v<R>) {
    records_of = [&](std::string_view raw) {
      tc.check_killed();  // between chunks of records
      try {
        Reader in(raw);
        while (!in.at_end()) {
          R r = read_record<R>(in);
          ++records;
          f(std::move(r));  // a consumer may take it over (or bind it to a const reference)
        }
      } catch (...) {
        consumer_threw = true;  // not the output's fault: never recompute it for this
        throw;
      }
    };
    local_piece = [&](std::string_view piece) {
      bytes += piece.size();
      decoder.feed(piece, records_of);
    };
  }
  for (std::size_t m = 0; m < dep.num_maps(); ++m) {
    tc.check_killed();
    if (is_remote.empty() || !is_remote[m]) {
      auto out = tc.blocks().map_output(dep.shuffle_id(), m);
      if (!out)
        throw error("shuffle " + std::to_string(dep.shuffle_id()) + ": output of map partition " +
                    std::to_string(m) + " is missing");
      if constexpr (is_serializable_v<R>) {
        try {
          out->read_bucket(p, local_piece);
          decoder.finish();
        } catch (const error& e) {
          // A damaged chunk, or a spill file that cannot be read back: the output is dropped
          // and computed again, as one lost with its executor would be.
          if (consumer_threw || (!dynamic_cast<const corrupt_chunk*>(&e) && !dynamic_cast<const io_error*>(&e)))
            throw;
          tc.blocks().drop_map_output(dep.shuffle_id(), m);
          throw_damaged_output("shuffle " + std::to_string(dep.shuffle_id()) + " map partition " +
                                   std::to_string(m) + " bucket " + std::to_string(p) +
                                   " in this process is damaged: " + e.what(),
                               dep.shuffle_id(), m);
        }
      } else {
        for (const R& r : static_cast<const TypedMapOutput<R>&>(*out).bucket(p)) {
          ++records;
          f(r);
        }
      }
      continue;
    }
    if constexpr (is_serializable_v<R>) {
      // Time spent waiting for blocks, not reading them: a fast reader waits, a slow one not.
      auto waited = std::chrono::steady_clock::now();
      fetched_blocks->read(m, decoder, [&](std::string_view raw) {
        fetch_time += std::chrono::steady_clock::now() - waited;
        records_of(raw);
        waited = std::chrono::steady_clock::now();
      });
      fetch_time += std::chrono::steady_clock::now() - waited;
    }
  }
  if (fetched_blocks) {
    remote_bytes = fetched_blocks->bytes();
    bytes += remote_bytes;
    tc.add_counter("shuffle.remote_bytes", remote_bytes);
    tc.add_counter("shuffle.fetch_micros",
                   static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::microseconds>(fetch_time).count()));
  }
  tc.add_counter("shuffle.read.records", records);
  tc.add_counter("shuffle.read.bytes", bytes);
}

/// Map side of reduce_by_key / aggregate_by_key: combines values per key in a hash table over the
/// whole partition, then writes one (key, combiner) per key into its bucket.
template <class In, class Agg, class Part>
class CombiningShuffle final : public ShuffleDependencyBase,
                               private Registered<CombiningShuffle<In, Agg, Part>, TypeKind::shuffle> {
  using Reg = Registered<CombiningShuffle, TypeKind::shuffle>;

 public:
  using K = owned_t<typename In::first_type>;
  using C = std::remove_cvref_t<decltype(std::declval<Agg&>().create(
      std::declval<owned_t<typename In::second_type>>()))>;
  using Record = std::pair<K, C>;

  CombiningShuffle(int id, std::shared_ptr<Node<In>> parent, Agg agg, Part part)
      : ShuffleDependencyBase(id, parent, parent->num_partitions(), part.num_partitions()),
        parent_(std::move(parent)),
        agg_(std::move(agg)),
        part_(std::move(part)) {}

  void run_map_task(TaskContext& tc, std::size_t m) const override {
    if constexpr (std::is_same_v<K, std::string> && is_serializable_v<Record>) {
      run_string_keyed(tc, m);
      return;
    }
    Agg agg = agg_;  // a task's own copy of the user's functions
    HashTable<K, C> table;
    auto body = [&](In&& x) {
      auto it = table.find(x.first);
      if (it == table.end()) {
        // The key first: it may view into the value, which create() may move from.
        K key = to_owned_move(std::move(x.first));
        table.emplace(std::move(key), agg.create(to_owned_move(std::move(x.second))));
      } else {
        agg.merge_value(it->second, to_owned_move(std::move(x.second)));
      }
    };
    parent_->iterate(tc, m, Emit<In>(body));
    if constexpr (is_serializable_v<Record>) {
      MapOutputBuilder out(tc, num_reducers());
      for (auto& [k, c] : table) {
        std::size_t b = part_(k);
        Writer& w = out.bucket(b);
        serialize_to(w, k);
        serialize_to(w, c);
        out.counted(b);
      }
      tc.blocks().put_map_output(shuffle_id(), m, std::move(out).finish());
    } else {
      auto out = std::make_shared<TypedMapOutput<Record>>(num_reducers());
      for (auto& [k, c] : table) out->bucket(part_(k)).emplace_back(k, std::move(c));
      tc.add_counter("shuffle.write.records", out->records());
      tc.blocks().put_map_output(shuffle_id(), m, std::move(out));
    }
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    save_state(w.out(), agg_);
    save_state(w.out(), part_);
  }
  static std::shared_ptr<CombiningShuffle> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<In>();
    Agg agg = load_state<Agg>(r.in());
    Part part = load_state<Part>(r.in());
    return std::make_shared<CombiningShuffle>(static_cast<int>(h.id), std::move(parent),
                                              std::move(agg), std::move(part));
  }

 private:
  // String keys, the common case of counting words, URLs or users, get a table made for them
  // (string_key_table.hpp): keys are hashed once, with the hash that also picks their reducer.
  // Records are taken in batches: a batch's slots are prefetched as its records arrive, so that
  // by the time the batch is added most slots are in cache. This wins where it matters, on tables
  // larger than the cache, and costs a copy of each key into the batch.
  void run_string_keyed(TaskContext& tc, std::size_t m) const {
    using Value = owned_t<typename In::second_type>;
    constexpr std::size_t kBatch = 16;
    struct Pending {
      std::uint64_t hash;
      std::size_t offset, size;  // the key's bytes in `keys`
    };
    Agg agg = agg_;
    StringKeyTable<C> table(table_salt(TableRole::map_side, static_cast<std::uint64_t>(shuffle_id()), m));
    std::array<Pending, kBatch> pending;
    struct Boxed {
      Value value;  // in a struct, so that a vector of bools is a vector of bools
    };
    std::vector<Boxed> values;
    values.reserve(kBatch);
    std::string keys;
    auto add_batch = [&] {
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::string_view key(keys.data() + pending[i].offset, pending[i].size);
        const std::uint64_t h = pending[i].hash;
        if (auto* slot = table.find(key, h)) {
          agg.merge_value(slot->value(), std::move(values[i].value));
        } else {
          table.insert(key, h, [&] { return agg.create(std::move(values[i].value)); });
        }
      }
      values.clear();
      keys.clear();
    };
    auto body = [&](In&& x) {
      const std::string_view key(x.first);
      const std::uint64_t h = stable_hash<std::string_view>{}(key);
      table.prefetch(h);
      pending[values.size()] = Pending{h, keys.size(), key.size()};
      keys.append(key);
      values.push_back(Boxed{to_owned_move(std::move(x.second))});
      if (values.size() == kBatch) add_batch();
    };
    parent_->iterate(tc, m, Emit<In>(body));
    add_batch();
    MapOutputBuilder out(tc, num_reducers());
    std::string key;  // for a partitioner of the user's, which takes the key as a std::string
    table.for_each([&](auto& slot) {
      std::size_t b;
      if constexpr (std::is_same_v<Part, HashPartitioner>) {
        b = static_cast<std::size_t>(slot.hash() % part_.num_partitions());  // HashPartitioner's choice
      } else {
        key.assign(slot.key());
        b = part_(std::as_const(key));
      }
      Writer& w = out.bucket(b);
      serialize_to(w, slot.key());
      serialize_to(w, slot.value());
      out.counted(b);
    });
    tc.blocks().put_map_output(shuffle_id(), m, std::move(out).finish());
  }

  std::shared_ptr<Node<In>> parent_;
  Agg agg_;
  Part part_;
};

template <class Part>
struct KeyBucket;

/// Map side without combining: each record, in its owning form, goes to bucket
/// `bucket(record, map_partition, sequence_number)`.
template <class In, class Bucket>
class PlainShuffle final : public ShuffleDependencyBase,
                           private Registered<PlainShuffle<In, Bucket>, TypeKind::shuffle> {
  using Reg = Registered<PlainShuffle, TypeKind::shuffle>;

 public:
  using Record = owned_t<In>;

  PlainShuffle(int id, std::shared_ptr<Node<In>> parent, std::size_t num_reducers, Bucket bucket)
      : ShuffleDependencyBase(id, parent, parent->num_partitions(), num_reducers),
        parent_(std::move(parent)),
        bucket_(std::move(bucket)) {}

  void run_map_task(TaskContext& tc, std::size_t m) const override {
    std::uint64_t seq = 0;
    if constexpr (is_serializable_v<Record>) {
      MapOutputBuilder out(tc, num_reducers());
      if constexpr (!std::is_same_v<In, Record> && is_serializable_v<In> &&
                    std::is_same_v<Bucket, KeyBucket<HashPartitioner>>) {
        // Views write the bytes their owning form would, and hash alike: no string is built per
        // record (grouping by a string key, joins).
        auto body = [&](In&& x) {
          std::size_t b = bucket_(std::as_const(x), m, seq++);
          serialize_to(out.bucket(b), x);
          out.counted(b);
        };
        parent_->iterate(tc, m, Emit<In>(body));
      } else {
        auto body = [&](In&& x) {
          Record r = to_owned_move(std::move(x));
          std::size_t b = bucket_(std::as_const(r), m, seq++);
          serialize_to(out.bucket(b), r);
          out.counted(b);
        };
        parent_->iterate(tc, m, Emit<In>(body));
      }
      tc.blocks().put_map_output(shuffle_id(), m, std::move(out).finish());
    } else {
      auto out = std::make_shared<TypedMapOutput<Record>>(num_reducers());
      auto body = [&](In&& x) {
        Record r = to_owned_move(std::move(x));
        std::size_t b = bucket_(std::as_const(r), m, seq++);
        out->bucket(b).push_back(std::move(r));
      };
      parent_->iterate(tc, m, Emit<In>(body));
      tc.add_counter("shuffle.write.records", out->records());
      tc.blocks().put_map_output(shuffle_id(), m, std::move(out));
    }
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    save_state(w.out(), bucket_);
  }
  static std::shared_ptr<PlainShuffle> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<In>();
    Bucket bucket = load_state<Bucket>(r.in());
    // A bucket past the reducers would be written past the map output's end.
    if (bucket.num_buckets() != h.partitions)
      throw serialization_error("shuffle " + std::to_string(h.id) + " was sent with " +
                                std::to_string(h.partitions) + " reducers but buckets for " +
                                std::to_string(bucket.num_buckets()));
    return std::make_shared<PlainShuffle>(static_cast<int>(h.id), std::move(parent), h.partitions,
                                          std::move(bucket));
  }

 private:
  std::shared_ptr<Node<In>> parent_;
  Bucket bucket_;
};

/// Reduce side of a plain shuffle: a partition is its buckets from every map task, in order.
template <class R>
class ShuffleReadNode final : public Node<R>,
                              private Registered<ShuffleReadNode<R>, TypeKind::node> {
  using Reg = Registered<ShuffleReadNode, TypeKind::node>;

 public:
  ShuffleReadNode(std::uint64_t id, std::string name, std::shared_ptr<ShuffleDependencyBase> dep,
                  std::shared_ptr<const PartitionerBase> partitioner)
      : Node<R>(id, std::move(name), dep->num_reducers()), dep_(dep) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override { w.shuffle_ref(*dep_); }
  static std::shared_ptr<ShuffleReadNode> load(GraphReader& r, const NodeHeader& h) {
    return std::make_shared<ShuffleReadNode>(h.id, h.name, r.shuffle_ref(), nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<R> out) override {
    read_buckets<R>(tc, *dep_, p, [&](auto&& r) {
      if constexpr (std::is_const_v<std::remove_reference_t<decltype(r)>>) {
        R copy(r);  // kept in the map output: a copy goes on
        out(std::move(copy));
      } else {
        out(std::move(r));
      }
    });
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
};

/// Reduce side of an aggregation: merges the (key, X) records of every bucket per key, where X
/// is a combiner (map side combined) or a raw value, and emits one (key, combiner) per key.
template <class K, class C, class X, class Agg>
class AggregatedNode final : public Node<std::pair<K, C>>,
                             private Registered<AggregatedNode<K, C, X, Agg>, TypeKind::node> {
  using Reg = Registered<AggregatedNode, TypeKind::node>;

 public:
  AggregatedNode(std::uint64_t id, std::string name, std::shared_ptr<ShuffleDependencyBase> dep,
                 Agg agg, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<std::pair<K, C>>(id, std::move(name), dep->num_reducers()),
        dep_(dep),
        agg_(std::move(agg)) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.shuffle_ref(*dep_);
    save_state(w.out(), agg_);
  }
  static std::shared_ptr<AggregatedNode> load(GraphReader& r, const NodeHeader& h) {
    auto dep = r.shuffle_ref();
    return std::make_shared<AggregatedNode>(h.id, h.name, std::move(dep), load_state<Agg>(r.in()),
                                            nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<K, C>> out) override {
    Agg agg = agg_;  // a task's own copy of the user's functions
    ExternalAggregator<K, C, X, Agg> table(tc, agg, table_salt(TableRole::reduce_side, static_cast<std::uint64_t>(dep_->shuffle_id()), p));
    if constexpr (std::is_same_v<K, std::string> && is_serializable_v<std::pair<K, X>>) {
      // String keys are looked up as views into the fetched bytes, and copied only when new.
      read_buckets<std::pair<std::string_view, X>>(
          tc, *dep_, p, [&](const std::pair<std::string_view, X>& r) { table.add(r.first, r.second); });
    } else {
      read_buckets<std::pair<K, X>>(tc, *dep_, p, [&](const std::pair<K, X>& r) { table.add(r); });
    }
    table.drain([&](std::pair<K, C>&& rec) { out(std::move(rec)); });
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
  Agg agg_;
};

/// By-key aggregation of records already partitioned by key (their dataset has the partitioner
/// asked for): each partition aggregates its own records, and nothing is shuffled again, as Spark
/// does for reduceByKey after partitionBy. Keeps the parent's partitioner.
template <class K, class C, class X, class Agg>
class LocalAggregatedNode final : public Node<std::pair<K, C>>,
                                  private Registered<LocalAggregatedNode<K, C, X, Agg>, TypeKind::node> {
  using Reg = Registered<LocalAggregatedNode, TypeKind::node>;

 public:
  LocalAggregatedNode(std::uint64_t id, std::string name, std::shared_ptr<Node<std::pair<K, X>>> parent, Agg agg)
      : Node<std::pair<K, C>>(id, std::move(name), parent->num_partitions()),
        parent_(parent),
        agg_(std::move(agg)) {
    this->add_narrow_parent(parent);
    this->set_partitioner(parent->partitioner());
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.node(parent_);
    save_state(w.out(), agg_);
  }
  static std::shared_ptr<LocalAggregatedNode> load(GraphReader& r, const NodeHeader& h) {
    auto parent = r.node_of<std::pair<K, X>>();
    return std::make_shared<LocalAggregatedNode>(h.id, h.name, std::move(parent), load_state<Agg>(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<K, C>> out) override {
    Agg agg = agg_;  // a task's own copy of the user's functions
    ExternalAggregator<K, C, X, Agg> table(tc, agg, table_salt(TableRole::local, this->id(), p));
    auto add = [&](std::pair<K, X>&& r) { table.add(r); };
    parent_->iterate(tc, p, Emit<std::pair<K, X>>(add));
    table.drain([&](std::pair<K, C>&& rec) { out(std::move(rec)); });
  }

 private:
  std::shared_ptr<Node<std::pair<K, X>>> parent_;
  Agg agg_;
};

/// Reduce side of sort_by_key: a range-partitioned bucket sorted by key (stable, so records
/// with equal keys keep their map-partition order).
template <class K, class V, class Less>
class SortedNode final : public Node<std::pair<K, V>>,
                         private Registered<SortedNode<K, V, Less>, TypeKind::node> {
  using Reg = Registered<SortedNode, TypeKind::node>;

 public:
  SortedNode(std::uint64_t id, std::shared_ptr<ShuffleDependencyBase> dep, bool ascending,
             Less less, std::shared_ptr<const PartitionerBase> partitioner)
      : Node<std::pair<K, V>>(id, "sort_by_key", dep->num_reducers()),
        dep_(dep),
        ascending_(ascending),
        less_(less) {
    this->add_shuffle_dependency(std::move(dep));
    this->set_partitioner(std::move(partitioner));
  }

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    w.shuffle_ref(*dep_);
    serialize_to(w.out(), ascending_);
    save_state(w.out(), less_);
  }
  static std::shared_ptr<SortedNode> load(GraphReader& r, const NodeHeader& h) {
    auto dep = r.shuffle_ref();
    bool ascending = deserialize_from<bool>(r.in());
    return std::make_shared<SortedNode>(h.id, std::move(dep), ascending, load_state<Less>(r.in()),
                                        nullptr);
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::pair<K, V>> out) override {
    Less less = less_;
    bool ascending = ascending_;
    auto before = [less, ascending](const std::pair<K, V>& a, const std::pair<K, V>& b) {
      return ascending ? less(a.first, b.first) : less(b.first, a.first);
    };
    ExternalSorter<std::pair<K, V>, decltype(before)> sorter(tc, before);
    read_buckets<std::pair<K, V>>(tc, *dep_, p, [&](auto&& r) { sorter.add(std::forward<decltype(r)>(r)); });
    sorter.drain([&](std::pair<K, V>&& r) { out(std::move(r)); });
  }

 private:
  std::shared_ptr<ShuffleDependencyBase> dep_;
  bool ascending_;
  Less less_;
};

/// Bucket of a (key, value) record: the partitioner applied to its key.
template <class Part>
struct KeyBucket {
  Part part;
  template <class R>
  std::size_t operator()(const R& r, std::size_t, std::uint64_t) const {
    return part(r.first);
  }
  std::size_t num_buckets() const { return part.num_partitions(); }
  void save_state(Writer& w) const { detail::save_state(w, part); }
  static KeyBucket load_state(Reader& r) { return {detail::load_state<Part>(r)}; }
};

/// Bucket for repartition: records of a map task dealt round-robin, from a start that depends
/// on the map partition, so that small partitions do not all fill bucket 0.
struct RoundRobinBucket {
  std::size_t n;
  template <class R>
  std::size_t operator()(const R&, std::size_t map_partition, std::uint64_t seq) const {
    return static_cast<std::size_t>((mix64(map_partition) + seq) % n);
  }
  std::size_t num_buckets() const { return n; }
};

}  // namespace spate::detail
