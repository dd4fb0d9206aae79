// The messages between driver and executors, and between executors (block fetches): payload
// layouts on top of net/frame.hpp. Each encode has its decode; decoders check every length.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/backend.hpp"
#include "spate/detail/block_codec.hpp"
#include "spate/serialization.hpp"

namespace spate::detail::protocol {

/// An executor introducing itself to the driver.
struct Registration {
  std::string executor_id;
  std::string block_host;  // where its block server listens, as reachable from other hosts
  std::uint16_t block_port = 0;
  std::uint64_t cores = 1;
  std::string fingerprint;  // executable_fingerprint()
  std::string executable;   // its path, for messages
  std::uint64_t pid = 0;
  std::uint64_t memory = 0;  // its memory budget in bytes
};

/// The driver's answer to a registration it accepts (executor_registered): how often to send
/// heartbeats, and how long a silent driver is taken for gone.
struct Welcome {
  std::uint64_t heartbeat_interval_ms = 1000;
  std::uint64_t heartbeat_timeout_ms = 10000;
  Codec compression = Codec::lz4;  // of shuffle outputs and spill files
};

/// The driver dropping the cached partitions of a node, a shuffle's outputs or a broadcast
/// value, or saying that no stage reads a shuffle any more (BlockStore::shuffle_idle).
struct RemoveBlocks {
  enum class Kind : std::uint8_t { cached = 0, shuffle = 1, broadcast = 2, idle_shuffle = 3 };
  Kind kind = Kind::cached;
  /// A cached node's id, a shuffle's id or a broadcast's id.
  std::uint64_t id = 0;
};

/// D->E kill_task: stop task `task_id` if it is queued or running (it then reports a failure).
struct KillTask {
  std::uint64_t task_id = 0;
};

/// Where the map outputs of one shuffle live: one block address ("host:port") per map partition,
/// and, when the driver knows them, each output's size of the bucket the task reads (the one of
/// its own partition), one compress_size() byte per map partition: 0 means empty.
struct ShuffleLocations {
  int shuffle = 0;
  std::vector<std::string> addresses;
  std::string sizes;  // empty: not known
};

/// A bucket size in one byte, as Spark's map statuses keep it: 0 for empty, else the power of
/// 1.1 at or above it (within 10%), capped at 255 (about 35 GB).
std::uint8_t compress_size(std::uint64_t bytes) noexcept;
/// The size a compress_size() byte stands for.
std::uint64_t decompress_size(std::uint8_t code) noexcept;

/// A task the driver sends.
struct Launch {
  std::uint64_t task_id = 0;
  bool is_map = false;
  int stage = 0;
  std::uint64_t partition = 0;
  int attempt = 1;
  std::vector<ShuffleLocations> shuffles;
  std::string stage_bytes;
};

/// A task's successful end; `result` is the handler's saved result (empty for map tasks).
struct Result {
  std::uint64_t task_id = 0;
  Counters counters;
  AccumulatorUpdates accumulators;
  std::vector<std::uint64_t> cached;  // nodes whose partition the task stored in its executor
  std::string result;
  std::string bucket_sizes;  // a map task's: compress_size() of each bucket it wrote
};

/// A task's failure.
struct Failure {
  std::uint64_t task_id = 0;
  bool input_error = false;  // bad input: retrying cannot help
  std::string message;
  // A block the task reads could not be fetched: the driver recomputes that map output.
  bool fetch_failed = false;
  int shuffle = 0;
  std::uint64_t map = 0;
  std::string address;  // the block server that failed
};

/// The most buckets one fetch_block request may ask for.
inline constexpr std::size_t kMaxBlocksPerFetch = 4096;

/// A reducer asking an executor for bucket `reduce` of several of its map outputs at once
/// (fetch_block). `maps` ascend strictly; the answer is block_data frames whose entries follow
/// the same order, a bucket larger than a frame in several pieces.
struct Fetch {
  int shuffle = 0;
  std::uint64_t reduce = 0;
  std::vector<std::uint64_t> maps;
};

/// What a block_data entry holds.
enum class BlockPiece : std::uint8_t {
  missing = 0,  // the executor does not hold that map output
  last = 1,     // the bucket's last (or only) piece
  more = 2,     // a piece; the next entry continues the same bucket
};

/// One entry in a block_data frame: a piece of a map output's bucket, or word that it is missing.
struct BlockEntry {
  std::uint64_t map = 0;
  BlockPiece kind = BlockPiece::last;
  std::string_view bytes;  // into the frame's payload
};

/// Appends one entry to a block_data payload being built.
void append_block(Writer& w, std::uint64_t map, BlockPiece kind, std::string_view bytes = {});
/// The entries of a block_data payload, in order; their maps ascend, a map repeating only after
/// a `more` piece of it (which must be followed by its next piece). Throws serialization_error
/// for anything else.
std::vector<BlockEntry> decode_blocks(std::string_view payload);

/// An executor asking the driver for a broadcast value (fetch_broadcast; broadcast_missing
/// carries the same layout).
struct BroadcastRequest {
  std::uint64_t id = 0;
};

/// A broadcast value's saved bytes (broadcast_data).
struct BroadcastData {
  std::uint64_t id = 0;
  std::string bytes;
};

std::string encode(const Registration& r);
Registration decode_registration(std::string_view payload);
std::string encode(const Welcome& w);
Welcome decode_welcome(std::string_view payload);
/// executor -> driver, every heartbeat interval: it is alive, and how much memory it holds.
struct Heartbeat {
  std::uint64_t memory_used = 0;
  std::uint64_t memory_budget = 0;
};

std::string encode(const Heartbeat& h);
/// An empty payload (the driver's heartbeat) decodes to zeros.
Heartbeat decode_heartbeat(std::string_view payload);
std::string encode(const RemoveBlocks& r);
RemoveBlocks decode_remove_blocks(std::string_view payload);
std::string encode(const KillTask& k);
KillTask decode_kill_task(std::string_view payload);
std::string encode(const Launch& l);
Launch decode_launch(std::string_view payload);
std::string encode(const Result& r);
Result decode_result(std::string_view payload);
std::string encode(const Failure& f);
Failure decode_failure(std::string_view payload);
std::string encode(const Fetch& f);
Fetch decode_fetch(std::string_view payload);
std::string encode(const BroadcastRequest& b);
BroadcastRequest decode_broadcast_request(std::string_view payload);
std::string encode(const BroadcastData& b);
BroadcastData decode_broadcast_data(std::string_view payload);

}  // namespace spate::detail::protocol
