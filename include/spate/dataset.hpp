// Dataset<T>: a lazy, partitioned collection of records of type T, and the operators on it.
//
// A Dataset is a cheap handle on a node of the lineage graph; copying it copies the handle.
// Nothing runs until an action (collect, count, save_as_text_file, ...) is called.
//
// Narrow operators (map, filter, flat_map, map_values, key_by, ...) return a Dataset whose second
// template argument records the pending operators, so that a chain of them compiles into one
// function per stage: keep such datasets in `auto` variables. Converting to `Dataset<T>` (the
// default second argument) fuses the pending operators into a node; that is also what happens
// when a wide operator or an action is applied.
//
// Functions passed to operators run on task threads and, in cluster modes, in executor
// processes: capture values, not references or pointers (those work in `local` mode only).
//
// Records may be views (std::string_view from text_file): they are valid while the record is
// being processed. Whenever spate stores records (shuffles, cache, collect) it stores their
// owning form, owned_t<T> (std::string for std::string_view), see record_traits.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "spate/detail/dataset_core.hpp"
#include "spate/job_handle.hpp"
#include "spate/partition_records.hpp"
#include "spate/partitioner.hpp"
#include "spate/local_iterator.hpp"
#include "spate/record_traits.hpp"
#include "spate/stats.hpp"
#include "spate/storage_level.hpp"
#include "spate/text_output_options.hpp"

namespace spate {

template <class T, class Stack = void>
class Dataset;

namespace detail {
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
// void for records that are not pairs, so declarations of by-key members stay well-formed.
template <class T>
struct pair_parts {
  using key = void;
  using value = void;
};
template <class A, class B>
struct pair_parts<std::pair<A, B>> {
  using key = owned_t<A>;
  using value = owned_t<B>;
};
}  // namespace detail

/// Records that are (key, value) pairs, which the by-key operators require.
template <class T>
concept KeyValue = detail::is_pair<T>::value;

/// The owning key type of a pair record type.
template <class T>
using key_of_t = typename detail::pair_parts<T>::key;
/// The owning value type of a pair record type.
template <class T>
using value_of_t = typename detail::pair_parts<T>::value;

template <class T, class Stack>
class Dataset {
 public:
  using value_type = T;

  explicit Dataset(detail::DatasetCore<T, Stack> core) : core_(std::move(core)) {}

  /// Fuses a dataset with pending narrow operators into a node-backed handle.
  template <class S>
    requires(std::is_void_v<Stack> && !std::is_void_v<S>)
  Dataset(const Dataset<T, S>& other)  // NOLINT: implicit, so Dataset<T> accepts any chain
      : core_{other.core_.engine, other.node()} {}

  /// A chain of pending narrow operators has a type of its own, which names each operator: it
  /// cannot take a dataset of another type. Compiles only for the mistake it explains.
  template <class U, class S>
    requires(!std::is_same_v<Dataset<U, S>, Dataset> && !(std::is_void_v<Stack> && std::is_same_v<U, T>))
  Dataset& operator=(const Dataset<U, S>&) {
    static_assert(std::is_void_v<Stack> || !std::is_same_v<U, T>,
                  "spate: this variable's type is one chain of pending narrow operators (what "
                  "`auto` gave it), and it cannot hold a longer chain such as `d = d.map(f)` in a "
                  "loop. Declare the variable as spate::Dataset<T> (e.g. `spate::Dataset<int> d = "
                  "ctx.parallelize(v).map(f);`): it fuses the chain into one node and takes any "
                  "dataset of T");
    static_assert(std::is_same_v<U, T>,
                  "spate: assigning a dataset of another record type (the `U = ...` above) to a "
                  "dataset variable of record type T; declare a new variable (or use `auto`) for it");
    return *this;
  }

  // ---- narrow operators: fused into one pass over a partition ----

  /// f(T) -> U for each record.
  template <class F>
  auto map(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::MapOp<F>{std::move(f)}));
  }
  /// Keeps the records for which f(const T&) is true; keeps the partitioner.
  template <class F>
  auto filter(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::FilterOp<F>{std::move(f)}));
  }
  /// f(T) returns a range (or std::optional) of records; each becomes a record. With an explicit
  /// U, f is called as f(T, emit) and calls emit(U) for each output record (no allocation).
  template <class U = void, class F>
  auto flat_map(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::FlatMapOp<F, U>{std::move(f)}));
  }
  /// (k, v) -> (k, f(v)); keeps the partitioner.
  template <class F>
    requires KeyValue<T>
  auto map_values(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::MapValuesOp<F>{std::move(f)}));
  }
  /// (k, v) -> (k, w) for each w in the range f(v); keeps the partitioner.
  template <class F>
    requires KeyValue<T>
  auto flat_map_values(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::FlatMapValuesOp<F>{std::move(f)}));
  }
  /// x -> (f(x), x).
  template <class F>
  auto key_by(F f) const {
    detail::require_shippable<F>();
    return wrap(core_.then(detail::KeyByOp<F>{std::move(f)}));
  }
  /// The keys of (key, value) records.
  auto keys() const
    requires KeyValue<T>
  {
    return map(detail::FirstOf{});
  }
  /// The values of (key, value) records.
  auto values() const
    requires KeyValue<T>
  {
    return map(detail::SecondOf{});
  }
  /// f(partition_index, std::vector<owned_t<T>> records) returns a range of U: the partition is
  /// handed over whole (materialised), as Spark's mapPartitionsWithIndex hands an iterator.
  template <class F>
  auto map_partitions(F f, bool keeps_partitioner = false) const;
  /// f(partition_index, spate::PartitionRecords<owned_t<T>>& records) returns a range of U, as
  /// Spark's mapPartitionsWithIndex: the records are computed as f reads them (a batch at a
  /// time), so a partition is never held whole, and f may return a lazy view over them
  /// (records | std::views::filter(...)). f runs once per partition, in the task.
  template <class F>
  auto map_partitions_with_index(F f, bool keeps_partitioner = false) const;
  /// The records of both datasets (this one's partitions first); no shuffle.
  template <class S>
  Dataset<T> union_with(const Dataset<T, S>& other) const;
  /// A deterministic random sample: each record kept with probability `fraction` (or, with
  /// replacement, repeated a Poisson(fraction) number of times), seeded by (seed, partition).
  Dataset<T> sample(bool with_replacement, double fraction, std::uint64_t seed = 42) const;
  /// (record, index) with indexes 0..count-1 in partition order; runs a job to count partitions.
  Dataset<std::pair<owned_t<T>, std::uint64_t>> zip_with_index() const;
  /// At most n partitions by merging neighbouring ones; no shuffle (use repartition to grow).
  Dataset<T> coalesce(std::size_t n) const;
  /// (record, id) with ids unique but not consecutive: the i-th record of partition p of n gets
  /// p + i * n. Runs no job (zip_with_index counts the partitions first).
  Dataset<std::pair<owned_t<T>, std::uint64_t>> zip_with_unique_id() const;
  /// One record per partition: the partition's records, in order, as a vector.
  Dataset<std::vector<owned_t<T>>> glom() const;
  /// (a, b) for the i-th records a and b of partition p of this and other. Both need the same
  /// number of partitions (else config_error here) and of records in each partition (else the
  /// job fails, naming the partition).
  template <class U, class S>
  Dataset<std::pair<owned_t<T>, owned_t<U>>> zip(const Dataset<U, S>& other) const;
  /// f(partition_index, std::vector<owned_t<T>>, std::vector<owned_t<U>>) returns a range of V,
  /// for each pair of partitions with the same index; the same number of partitions is needed.
  template <class U, class S, class F>
  auto zip_partitions(const Dataset<U, S>& other, F f) const;
  /// Every pair (a, b) of a record of this and a record of other: partition i * m + j (m: other's
  /// partitions) pairs this's partition i with other's partition j.
  template <class U, class S>
  Dataset<std::pair<owned_t<T>, owned_t<U>>> cartesian(const Dataset<U, S>& other) const;
  /// Splits the records at random into weights.size() datasets, each record into exactly one,
  /// split i getting about weights[i] / sum(weights) of them; deterministic for a seed. Each
  /// split recomputes this dataset (cache() it first when that is dear). Throws config_error
  /// for an empty, negative or all-zero weights.
  std::vector<Dataset<T>> random_split(const std::vector<double>& weights,
                                       std::uint64_t seed = 42) const;
  /// As sample, with the fraction of each record's key; a key missing from fractions fails
  /// the job, naming it.
  Dataset<owned_t<T>> sample_by_key(bool with_replacement,
                                    const std::map<key_of_t<T>, double>& fractions,
                                    std::uint64_t seed = 42) const
    requires KeyValue<T>;
  /// The records whose key k has lower <= k && k <= upper; keeps the partitioner. A dataset
  /// range-partitioned by sort_by_key keeps only the partitions the range can hold.
  template <class K = key_of_t<T>>
  auto filter_by_range(const std::type_identity_t<K>& lower, const std::type_identity_t<K>& upper) const
    requires KeyValue<T>;

  // ---- persistence ----

  /// Keeps each computed partition in memory, so later actions reuse it; returns the cached
  /// dataset (records in owning form). Lost or evicted partitions are recomputed from lineage.
  /// Same as persist(StorageLevel::memory_only).
  Dataset<owned_t<T>> cache() const { return persist(StorageLevel::memory_only); }
  /// Keeps each partition, when first computed, where `level` says (storage_level.hpp), so later
  /// actions reuse it; returns the persisted dataset. Partitions lost with their executor are
  /// recomputed from lineage. Throws config_error for StorageLevel::none, for a level that
  /// differs from the one already set (as Spark does: unpersist() first), and for a disk level
  /// when the records cannot be serialized.
  Dataset<owned_t<T>> persist(StorageLevel level = StorageLevel::memory_only) const;
  /// The level persist() or cache() set, or StorageLevel::none.
  StorageLevel storage_level() const { return owned_node()->storage_level(); }
  /// Frees the persisted partitions (memory and disk); later actions recompute them.
  void unpersist() const;
  /// Computes the dataset now (one job) and writes it under the Context's checkpoint directory
  /// (Context::set_checkpoint_dir); returns a dataset that reads those files and has no lineage
  /// before them, so later jobs never recompute what came before and a lost executor costs a
  /// re-read. Keeps the partitioner. The files go with the last handle on the returned dataset.
  /// Throws spate::error when no checkpoint directory is set, or the driver cannot see what
  /// the executors wrote (a directory that is not shared).
  Dataset<owned_t<T>> checkpoint() const;
  /// Computes the dataset now (one job) and keeps each partition in the memory of the process
  /// that computed it; returns a dataset that reads them and has no lineage before them. Faster
  /// than checkpoint(), but nothing can recompute a partition lost with its executor: an action
  /// that needs one fails, saying so. Keeps the partitioner. Freed with the last handle.
  Dataset<owned_t<T>> local_checkpoint() const;

  // ---- wide operators: end a stage; `partitions == 0` keeps the parent's partition count ----
  // reduce_by_key, group_by_key and join keep a partitioner the records already obey (from
  // partition_by or an earlier by-key operator) when `partitions` is 0 or asks for the same
  // hash partitioning: they aggregate each partition in place and shuffle nothing.

  /// Merges the values of each key with f(V, V) -> V, first within each map partition.
  template <class F>
    requires KeyValue<T>
  Dataset<std::pair<key_of_t<T>, value_of_t<T>>> reduce_by_key(F f, std::size_t partitions = 0) const;
  /// Per key: folds values into a copy of zero with seq(C, V) -> C (map side), then merges
  /// partial results with comb(C, C) -> C.
  template <class C, class Seq, class Comb>
    requires KeyValue<T>
  Dataset<std::pair<key_of_t<T>, C>> aggregate_by_key(C zero, Seq seq, Comb comb,
                                                      std::size_t partitions = 0) const;
  /// aggregate_by_key with the same function for both steps.
  template <class F, class V = value_of_t<T>>
    requires KeyValue<T>
  Dataset<std::pair<key_of_t<T>, V>> fold_by_key(std::type_identity_t<V> zero, F f,
                                                 std::size_t partitions = 0) const;
  /// All values of each key, in arrival order (no map-side combine: prefer reduce_by_key).
  Dataset<std::pair<key_of_t<T>, std::vector<value_of_t<T>>>> group_by_key(
      std::size_t partitions = 0) const
    requires KeyValue<T>;
  /// Each distinct record once.
  Dataset<owned_t<T>> distinct(std::size_t partitions = 0) const;
  /// (f(record), its records), records in arrival order: key_by(f).group_by_key().
  template <class F>
  auto group_by(F f, std::size_t partitions = 0) const;
  /// The distinct records found in both datasets (each once). partitions 0: the larger count.
  template <class S>
  Dataset<owned_t<T>> intersection(const Dataset<T, S>& other, std::size_t partitions = 0) const;
  /// The records of this that other does not hold, duplicates kept. partitions 0: this's count.
  template <class S>
  Dataset<owned_t<T>> subtract(const Dataset<T, S>& other, std::size_t partitions = 0) const;
  /// The (key, value) records whose key other does not have. partitions 0: this's count.
  template <class U, class S>
    requires KeyValue<T>
  Dataset<owned_t<T>> subtract_by_key(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// Per key, every pair of values from both sides (inner join). Co-partitioned inputs (the same
  /// partitioner) are joined without a shuffle; one partitioned side keeps its partitioning.
  template <class U, class S>
    requires KeyValue<T>
  auto join(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// Every left record; the right value is std::nullopt where the key has none.
  template <class U, class S>
    requires KeyValue<T>
  auto left_outer_join(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// Every right record; the left value is std::nullopt where the key has none.
  template <class U, class S>
    requires KeyValue<T>
  auto right_outer_join(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// Every key of either side; the missing side is std::nullopt.
  template <class U, class S>
    requires KeyValue<T>
  auto full_outer_join(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// (key, (values of this, values of other)) for every key of either side.
  template <class U, class S>
    requires KeyValue<T>
  auto cogroup(const Dataset<U, S>& other, std::size_t partitions = 0) const;
  /// (key, (values of this, of a, of b)) as a std::tuple of vectors, for every key of any side
  /// (Spark's groupWith). partitions 0: the largest count.
  template <class U1, class S1, class U2, class S2>
    requires KeyValue<T>
  auto cogroup(const Dataset<U1, S1>& a, const Dataset<U2, S2>& b, std::size_t partitions = 0) const;
  /// As above with three others: a std::tuple of four vectors per key.
  template <class U1, class S1, class U2, class S2, class U3, class S3>
    requires KeyValue<T>
  auto cogroup(const Dataset<U1, S1>& a, const Dataset<U2, S2>& b, const Dataset<U3, S3>& c,
               std::size_t partitions = 0) const;
  /// Globally sorted by key: partition i holds smaller keys than partition i+1 (range
  /// partitioner computed from a sample, which runs a job); stable within equal keys.
  template <class Less = std::less<key_of_t<T>>>
    requires KeyValue<T>
  Dataset<owned_t<T>> sort_by_key(bool ascending = true, std::size_t partitions = 0,
                                  Less less = Less{}) const;
  /// Globally sorted by f(record).
  template <class F>
  Dataset<owned_t<T>> sort_by(F f, bool ascending = true, std::size_t partitions = 0) const;
  /// Records moved to the partition `partitioner(key)` names; the result knows its partitioner.
  template <class P>
    requires KeyValue<T>
  Dataset<owned_t<T>> partition_by(P partitioner) const;
  /// Exactly n partitions of near-equal size, by a shuffle.
  Dataset<owned_t<T>> repartition(std::size_t n) const;
  /// Records moved where partitioner(key) says and sorted by key (by less, stable) within each
  /// partition; no sampling job, unlike sort_by_key. The result knows its partitioner.
  template <class P, class Less = std::less<key_of_t<T>>>
    requires KeyValue<T>
  Dataset<owned_t<T>> repartition_and_sort_within_partitions(P partitioner, Less less = Less{}) const;
  /// (key, estimated number of distinct values) per key, by HyperLogLog summaries of relative
  /// standard deviation relative_sd (>= 0.000017; 0.05 takes 512 bytes per key and partition).
  Dataset<std::pair<key_of_t<T>, std::uint64_t>> count_approx_distinct_by_key(
      double relative_sd = 0.05, std::size_t partitions = 0) const
    requires KeyValue<T>;

  // ---- actions: run a job ----

  /// Every record, in partition order.
  std::vector<owned_t<T>> collect() const;
  /// The number of records.
  std::size_t count() const;
  /// Merges all records with an associative, commutative f(T, T) -> T; throws spate::error when
  /// the dataset is empty.
  template <class F>
  owned_t<T> reduce(F f) const;
  /// Folds each partition from a copy of zero with f, then the partition results from zero.
  template <class F>
  owned_t<T> fold(owned_t<T> zero, F f) const;
  /// seq(Z, T) -> Z within partitions, comb(Z, Z) -> Z across them; zero is copied for each.
  template <class Z, class Seq, class Comb>
  Z aggregate(Z zero, Seq seq, Comb comb) const;
  /// The first n records in partition order; scans as few partitions as it can.
  std::vector<owned_t<T>> take(std::size_t n) const;
  /// The first record; throws spate::error when the dataset is empty.
  owned_t<T> first() const;
  /// The n largest records, largest first (by less).
  template <class Less = std::less<owned_t<T>>>
  std::vector<owned_t<T>> top(std::size_t n, Less less = Less{}) const;
  /// The n smallest records, smallest first (by less).
  template <class Less = std::less<owned_t<T>>>
  std::vector<owned_t<T>> take_ordered(std::size_t n, Less less = Less{}) const;
  /// True when the dataset has no record; reads as few partitions as it can.
  bool is_empty() const;
  /// About n records drawn at random (exactly n, or every record when there are fewer and no
  /// replacement), in random order; deterministic for a seed. Counts the records first.
  std::vector<owned_t<T>> take_sample(bool with_replacement, std::size_t n,
                                      std::uint64_t seed = 42) const;
  /// aggregate, with the partitions' results combined in a tree of the given depth (>= 1) on
  /// the executors rather than all on the driver. Z must be serializable.
  template <class Z, class Seq, class Comb>
  Z tree_aggregate(Z zero, Seq seq, Comb comb, int depth = 2) const;
  /// reduce, combined in a tree as tree_aggregate; throws spate::error when the dataset is empty.
  template <class F>
  owned_t<T> tree_reduce(F f, int depth = 2) const;
  /// The largest record by less; throws spate::error when the dataset is empty.
  template <class Less = std::less<owned_t<T>>>
  owned_t<T> max(Less less = Less{}) const;
  /// The smallest record by less; throws spate::error when the dataset is empty.
  template <class Less = std::less<owned_t<T>>>
  owned_t<T> min(Less less = Less{}) const;
  /// The sum of numeric records in their own type (0 when empty).
  owned_t<T> sum() const
    requires std::is_arithmetic_v<owned_t<T>>;
  /// Count, mean, variance, min and max of numeric records, in one pass.
  Stats stats() const
    requires std::is_arithmetic_v<owned_t<T>>;
  /// The mean of numeric records; NaN when empty.
  double mean() const
    requires std::is_arithmetic_v<owned_t<T>>;
  /// bucket_count evenly spaced buckets from the smallest to the largest record (one bucket
  /// [x, x] when they are equal), and the number of records in each: bucket i is
  /// [bounds[i], bounds[i + 1]), the last one closed. Throws spate::error when the dataset is
  /// empty or holds NaN or an infinity, config_error when bucket_count is 0.
  std::pair<std::vector<double>, std::vector<std::uint64_t>> histogram(std::size_t bucket_count) const
    requires std::is_arithmetic_v<owned_t<T>>;
  /// The number of records in each bucket [bounds[i], bounds[i + 1]) (the last one closed);
  /// records outside them, and NaN, are not counted. bounds must be strictly increasing, at
  /// least two (else config_error).
  std::vector<std::uint64_t> histogram(const std::vector<double>& bounds) const
    requires std::is_arithmetic_v<owned_t<T>>;
  /// An estimate of the number of distinct records (HyperLogLog, relative standard deviation
  /// relative_sd >= 0.000017).
  std::uint64_t count_approx_distinct(double relative_sd = 0.05) const;
  /// The values of key, in partition order; reads only its partition when the dataset knows a
  /// hash partitioner.
  template <class K = key_of_t<T>>
  std::vector<value_of_t<T>> lookup(const std::type_identity_t<K>& key) const
    requires KeyValue<T>;
  /// The records as a map; for a key held more than once, the last in partition order wins.
  std::map<key_of_t<T>, value_of_t<T>> collect_as_map() const
    requires KeyValue<T>;
  /// The records, partition by partition: one job per partition as iteration reaches it, so
  /// the driver holds one partition at a time.
  LocalIterator<owned_t<T>> to_local_iterator() const;
  /// Number of records per key.
  std::map<key_of_t<T>, std::size_t> count_by_key() const
    requires KeyValue<T>;
  /// Number of occurrences of each distinct record.
  std::map<owned_t<T>, std::size_t> count_by_value() const;
  /// Calls f(record) for every record, on the task threads.
  template <class F>
  void foreach(F f) const;

  // ---- the same actions, started without waiting: the handle waits, gets or cancels ----

  /// collect(), running while the caller goes on.
  JobHandle<std::vector<owned_t<T>>> collect_async() const;
  /// count(), running while the caller goes on.
  JobHandle<std::size_t> count_async() const;
  /// foreach(f), running while the caller goes on.
  template <class F>
  JobHandle<void> foreach_async(F f) const;

  /// Calls f(partition_index, std::vector<owned_t<T>>) once per partition, on the task threads.
  template <class F>
  void foreach_partition(F f) const;
  /// Writes one line per record to DIR/part-NNNNN (tab-separated fields for pairs and tuples),
  /// each part committed by rename, and DIR/_SUCCESS when every part is in place. Fails if DIR
  /// holds _SUCCESS or anything but part files and _temporary, or a running job writes it; the
  /// leftovers of a job that did not finish are cleared. An `s3://bucket/prefix/` DIR gets each
  /// part as a multipart upload that the driver completes once per partition, then _SUCCESS.
  /// Every field is escaped as Hive's text format does: backslash, tab, newline and carriage
  /// return become `\\`, `\t`, `\n`, `\r`, so a line holds exactly one record and a pair or
  /// tuple line exactly its fields; spate::split_text_fields and unescape_text_field
  /// (spate/text_escape.hpp) undo it.
  void save_as_text_file(const std::string& dir) const;
  /// As above, with parts compressed as `options` say (part-NNNNN.gz or .zst, which text_file
  /// reads back). Throws config_error for a compression level out of range.
  void save_as_text_file(const std::string& dir, const TextOutputOptions& options) const;
  /// As above, with each record formatted by format(const T&) -> std::string, written as it is
  /// (not escaped). A line holding a newline would read back as two records: the task fails,
  /// naming the directory, the partition and the record's index in it.
  template <class F>
    requires(!std::is_convertible_v<F, TextOutputOptions>)
  void save_as_text_file(const std::string& dir, F format, const TextOutputOptions& options = {}) const;

  /// Writes the records in spate's own binary encoding (the one shuffles use) to DIR/part-NNNNN,
  /// one part per partition, with the commit rules of save_as_text_file. A part is a header
  /// naming the record type, blocks of about 1 MiB (compressed with the shuffle codec) each
  /// with a checksum, and an index of the blocks; Context::object_file<owned_t<T>> reads it
  /// back, split into as many partitions as asked. DIR may be an s3:// prefix, as for
  /// save_as_text_file. owned_t<T> must be serializable.
  void save_as_object_file(const std::string& dir) const;

  // ---- introspection ----

  /// The number of partitions (fuses pending operators).
  std::size_t num_partitions() const { return node()->num_partitions(); }
  /// The partitioner the records obey (after partition_by or a by-key operator, kept by
  /// map_values, filter and the like), or nullptr when they obey none.
  std::shared_ptr<const PartitionerBase> partitioner() const { return known_partitioner(); }
  /// The node these records come from (fuses pending operators).
  std::shared_ptr<detail::Node<T>> node() const { return core_.node(); }
  /// The engine this dataset runs on.
  const std::shared_ptr<detail::Engine>& engine() const { return core_.engine; }

 private:
  template <class U, class S>
  friend class Dataset;

  template <class U, class S>
  static Dataset<U, S> wrap(detail::DatasetCore<U, S> c) {
    return Dataset<U, S>(std::move(c));
  }
  template <class U>
  Dataset<U> from_node(std::shared_ptr<detail::Node<U>> n) const {
    return Dataset<U>(detail::DatasetCore<U, void>{core_.engine, std::move(n)});
  }
  /// The node of this dataset's records in owning form.
  std::shared_ptr<detail::Node<owned_t<T>>> owned_node() const;
  /// The partitioner the records obey, if any (without fusing).
  std::shared_ptr<const PartitionerBase> known_partitioner() const;
  /// True when a by-key operator asking for `partitions` (0: no preference) can aggregate each
  /// partition in place: the records are already partitioned by key that way.
  bool keeps_partitioning(std::size_t partitions) const;

  detail::DatasetCore<T, Stack> core_;
};

}  // namespace spate

#include "spate/detail/dataset_impl.hpp"
