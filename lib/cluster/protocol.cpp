// Message layouts: Serializer-encoded fields in a fixed order; decoders reject trailing bytes.
#include "cluster/protocol.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <map>
#include <string_view>
#include <tuple>

#include "spate/error.hpp"

namespace spate::detail::protocol {

namespace {
template <class... T>
std::string pack(const T&... fields) {
  Writer w;
  (serialize_to(w, fields), ...);
  return std::move(w).take();
}

void expect_end(const Reader& r, const char* what) {
  if (!r.at_end())
    throw serialization_error(std::string(what) + " message has " + std::to_string(r.remaining()) +
                              " unexpected trailing bytes");
}
}  // namespace

std::string encode(const Registration& r) {
  return pack(r.executor_id, r.block_host, r.block_port, r.cores, r.fingerprint, r.executable, r.pid,
              r.memory);
}

Registration decode_registration(std::string_view payload) {
  Reader in(payload);
  Registration r;
  r.executor_id = deserialize_from<std::string>(in);
  r.block_host = deserialize_from<std::string>(in);
  r.block_port = deserialize_from<std::uint16_t>(in);
  r.cores = deserialize_from<std::uint64_t>(in);
  r.fingerprint = deserialize_from<std::string>(in);
  r.executable = deserialize_from<std::string>(in);
  r.pid = deserialize_from<std::uint64_t>(in);
  r.memory = deserialize_from<std::uint64_t>(in);
  expect_end(in, "register_executor");
  if (r.cores == 0 || r.cores > 4096) throw serialization_error("register_executor: bad core count");
  return r;
}

std::string encode(const Welcome& w) {
  return pack(w.heartbeat_interval_ms, w.heartbeat_timeout_ms, static_cast<std::uint8_t>(w.compression));
}

Welcome decode_welcome(std::string_view payload) {
  Reader in(payload);
  Welcome w;
  w.heartbeat_interval_ms = deserialize_from<std::uint64_t>(in);
  w.heartbeat_timeout_ms = deserialize_from<std::uint64_t>(in);
  auto codec = deserialize_from<std::uint8_t>(in);
  expect_end(in, "executor_registered");
  if (codec > static_cast<std::uint8_t>(Codec::zstd))
    throw serialization_error("executor_registered: unknown compression " + std::to_string(codec));
  w.compression = static_cast<Codec>(codec);
  if (w.heartbeat_interval_ms == 0 || w.heartbeat_timeout_ms < w.heartbeat_interval_ms)
    throw serialization_error("executor_registered: heartbeat timeout shorter than its interval");
  return w;
}

std::string encode(const Heartbeat& h) { return pack(h.memory_used, h.memory_budget); }

Heartbeat decode_heartbeat(std::string_view payload) {
  Heartbeat h;
  if (payload.empty()) return h;
  Reader in(payload);
  h.memory_used = deserialize_from<std::uint64_t>(in);
  h.memory_budget = deserialize_from<std::uint64_t>(in);
  expect_end(in, "heartbeat");
  return h;
}

std::string encode(const RemoveBlocks& r) { return pack(static_cast<std::uint8_t>(r.kind), r.id); }

RemoveBlocks decode_remove_blocks(std::string_view payload) {
  Reader in(payload);
  RemoveBlocks r;
  auto kind = deserialize_from<std::uint8_t>(in);
  if (kind > 3) throw serialization_error(fmt::format("remove_blocks: unknown kind {}", kind));
  r.kind = static_cast<RemoveBlocks::Kind>(kind);
  r.id = deserialize_from<std::uint64_t>(in);
  expect_end(in, "remove_blocks");
  return r;
}

std::string encode(const KillTask& k) { return pack(k.task_id); }

KillTask decode_kill_task(std::string_view payload) {
  Reader in(payload);
  KillTask k;
  k.task_id = deserialize_from<std::uint64_t>(in);
  expect_end(in, "kill_task");
  return k;
}

namespace {

// A shuffle's locations travel as its distinct addresses, then one varint index per map
// partition: a thousand maps on three executors take a thousand bytes and three addresses.
void write_locations(Writer& w, const ShuffleLocations& s) {
  serialize_to(w, static_cast<std::int32_t>(s.shuffle));
  std::vector<const std::string*> distinct;
  std::map<std::string_view, std::uint64_t> index;
  std::vector<std::uint64_t> of_map;
  of_map.reserve(s.addresses.size());
  for (const auto& a : s.addresses) {
    auto [it, added] = index.try_emplace(a, distinct.size());
    if (added) distinct.push_back(&a);
    of_map.push_back(it->second);
  }
  w.write_varint(distinct.size());
  for (const std::string* a : distinct) serialize_to(w, *a);
  w.write_varint(of_map.size());
  for (std::uint64_t i : of_map) w.write_varint(i);
  serialize_to(w, s.sizes);
}

ShuffleLocations read_locations(Reader& in) {
  ShuffleLocations s;
  s.shuffle = deserialize_from<std::int32_t>(in);
  std::vector<std::string> distinct(in.read_count(1));
  for (auto& a : distinct) a = deserialize_from<std::string>(in);
  s.addresses.resize(in.read_count(1));
  for (auto& a : s.addresses) {
    std::uint64_t i = in.read_varint();
    if (i >= distinct.size())
      throw serialization_error("launch_task message: map location " + std::to_string(i) + " of " +
                                std::to_string(distinct.size()) + " addresses");
    a = distinct[i];
  }
  s.sizes = deserialize_from<std::string>(in);
  if (!s.sizes.empty() && s.sizes.size() != s.addresses.size())
    throw serialization_error("launch_task message: " + std::to_string(s.sizes.size()) + " bucket sizes for " +
                              std::to_string(s.addresses.size()) + " map outputs");
  return s;
}

}  // namespace

std::uint8_t compress_size(std::uint64_t bytes) noexcept {
  if (bytes == 0) return 0;
  if (bytes == 1) return 1;
  double code = std::ceil(std::log(static_cast<double>(bytes)) / std::log(1.1));
  return static_cast<std::uint8_t>(std::clamp(code, 1.0, 255.0));
}

std::uint64_t decompress_size(std::uint8_t code) noexcept {
  return code == 0 ? 0 : static_cast<std::uint64_t>(std::pow(1.1, code));
}

std::string encode(const Launch& l) {
  Writer w;
  serialize_to(w, l.task_id);
  serialize_to(w, l.is_map);
  serialize_to(w, static_cast<std::int32_t>(l.stage));
  serialize_to(w, l.partition);
  serialize_to(w, static_cast<std::int32_t>(l.attempt));
  w.write_varint(l.shuffles.size());
  for (const auto& s : l.shuffles) write_locations(w, s);
  serialize_to(w, l.stage_bytes);
  return std::move(w).take();
}

Launch decode_launch(std::string_view payload) {
  Reader in(payload);
  Launch l;
  l.task_id = deserialize_from<std::uint64_t>(in);
  l.is_map = deserialize_from<bool>(in);
  l.stage = deserialize_from<std::int32_t>(in);
  l.partition = deserialize_from<std::uint64_t>(in);
  l.attempt = deserialize_from<std::int32_t>(in);
  l.shuffles.resize(in.read_count(2));
  for (auto& s : l.shuffles) s = read_locations(in);
  l.stage_bytes = deserialize_from<std::string>(in);
  expect_end(in, "launch_task");
  return l;
}

std::string encode(const Result& r) {
  return pack(r.task_id, r.counters, r.accumulators, r.cached, r.result, r.bucket_sizes);
}

Result decode_result(std::string_view payload) {
  Reader in(payload);
  Result r;
  r.task_id = deserialize_from<std::uint64_t>(in);
  r.counters = deserialize_from<Counters>(in);
  r.accumulators = deserialize_from<AccumulatorUpdates>(in);
  r.cached = deserialize_from<std::vector<std::uint64_t>>(in);
  r.result = deserialize_from<std::string>(in);
  r.bucket_sizes = deserialize_from<std::string>(in);
  expect_end(in, "task_result");
  return r;
}

std::string encode(const Failure& f) {
  return pack(f.task_id, f.input_error, f.message, f.fetch_failed, static_cast<std::int32_t>(f.shuffle), f.map,
              f.address);
}

Failure decode_failure(std::string_view payload) {
  Reader in(payload);
  Failure f;
  f.task_id = deserialize_from<std::uint64_t>(in);
  f.input_error = deserialize_from<bool>(in);
  f.message = deserialize_from<std::string>(in);
  f.fetch_failed = deserialize_from<bool>(in);
  f.shuffle = deserialize_from<std::int32_t>(in);
  f.map = deserialize_from<std::uint64_t>(in);
  f.address = deserialize_from<std::string>(in);
  expect_end(in, "task_failed");
  return f;
}

// Maps travel as the gaps between them (the first from -1), each a varint: a request for a
// thousand neighbouring buckets takes a thousand bytes.
std::string encode(const Fetch& f) {
  Writer w;
  serialize_to(w, static_cast<std::int32_t>(f.shuffle));
  w.write_varint(f.reduce);
  w.write_varint(f.maps.size());
  std::uint64_t next = 0;
  for (std::uint64_t m : f.maps) {
    w.write_varint(m - next);
    next = m + 1;
  }
  return std::move(w).take();
}

Fetch decode_fetch(std::string_view payload) {
  Reader in(payload);
  Fetch f;
  f.shuffle = deserialize_from<std::int32_t>(in);
  f.reduce = in.read_varint();
  std::uint64_t count = in.read_varint();
  if (count == 0 || count > kMaxBlocksPerFetch)
    throw serialization_error("fetch_block message asks for " + std::to_string(count) +
                              " blocks; a request asks for 1 to " + std::to_string(kMaxBlocksPerFetch));
  if (count > in.remaining())
    throw serialization_error("fetch_block message claims " + std::to_string(count) + " blocks in " +
                              std::to_string(in.remaining()) + " bytes");
  f.maps.reserve(count);
  std::uint64_t next = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t gap = in.read_varint();
    if (gap > ~std::uint64_t{0} - next)
      throw serialization_error("fetch_block message: map partition number overflows");
    f.maps.push_back(next + gap);
    next = f.maps.back() + 1;
  }
  expect_end(in, "fetch_block");
  return f;
}

void append_block(Writer& w, std::uint64_t map, BlockPiece kind, std::string_view bytes) {
  w.write_varint(map);
  w.write_varint(static_cast<std::uint64_t>(kind));
  if (kind == BlockPiece::missing) return;
  w.write_varint(bytes.size());
  w.write_bytes(bytes.data(), bytes.size());
}

std::vector<BlockEntry> decode_blocks(std::string_view payload) {
  Reader in(payload);
  std::vector<BlockEntry> out;
  while (!in.at_end()) {
    BlockEntry e;
    e.map = in.read_varint();
    if (!out.empty()) {
      const BlockEntry& prev = out.back();
      if (prev.kind == BlockPiece::more ? e.map != prev.map : e.map <= prev.map)
        throw serialization_error("block_data message: map partition " + std::to_string(e.map) + " comes after " +
                                  (prev.kind == BlockPiece::more ? "a piece of " : "") + std::to_string(prev.map));
    }
    std::uint64_t kind = in.read_varint();
    if (kind > static_cast<std::uint64_t>(BlockPiece::more))
      throw serialization_error("block_data message: block status " + std::to_string(kind) +
                                " is none of 0 (missing), 1 (last piece), 2 (more pieces follow)");
    e.kind = static_cast<BlockPiece>(kind);
    if (e.kind == BlockPiece::missing && !out.empty() && out.back().kind == BlockPiece::more)
      throw serialization_error("block_data message: map partition " + std::to_string(e.map) +
                                " is missing after a piece of it");
    if (e.kind != BlockPiece::missing) {
      std::uint64_t n = in.read_varint();
      if (n > in.remaining())
        throw serialization_error("block_data message: a block of " + std::to_string(n) +
                                  " bytes with " + std::to_string(in.remaining()) + " left");
      e.bytes = in.read_view(static_cast<std::size_t>(n));
    }
    out.push_back(e);
  }
  return out;
}

std::string encode(const BroadcastRequest& b) { return pack(b.id); }

BroadcastRequest decode_broadcast_request(std::string_view payload) {
  Reader in(payload);
  BroadcastRequest b;
  b.id = deserialize_from<std::uint64_t>(in);
  expect_end(in, "fetch_broadcast");
  return b;
}

std::string encode(const BroadcastData& b) { return pack(b.id, b.bytes); }

BroadcastData decode_broadcast_data(std::string_view payload) {
  Reader in(payload);
  BroadcastData b;
  b.id = deserialize_from<std::uint64_t>(in);
  b.bytes = deserialize_from<std::string>(in);
  expect_end(in, "broadcast_data");
  return b;
}

}  // namespace spate::detail::protocol
