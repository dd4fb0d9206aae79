// Message layouts: Serializer-encoded fields in a fixed order; decoders reject trailing bytes.
#include "cluster/protocol.hpp"

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

std::string encode(const Welcome& w) { return pack(w.heartbeat_interval_ms, w.heartbeat_timeout_ms); }

Welcome decode_welcome(std::string_view payload) {
  Reader in(payload);
  Welcome w;
  w.heartbeat_interval_ms = deserialize_from<std::uint64_t>(in);
  w.heartbeat_timeout_ms = deserialize_from<std::uint64_t>(in);
  expect_end(in, "executor_registered");
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

std::string encode(const RemoveCached& r) { return pack(r.node); }

RemoveCached decode_remove_cached(std::string_view payload) {
  Reader in(payload);
  RemoveCached r;
  r.node = deserialize_from<std::uint64_t>(in);
  expect_end(in, "remove_blocks");
  return r;
}

std::string encode(const Launch& l) {
  Writer w;
  serialize_to(w, l.task_id);
  serialize_to(w, l.is_map);
  serialize_to(w, static_cast<std::int32_t>(l.stage));
  serialize_to(w, l.partition);
  serialize_to(w, static_cast<std::int32_t>(l.attempt));
  w.write_varint(l.shuffles.size());
  for (const auto& s : l.shuffles) {
    serialize_to(w, static_cast<std::int32_t>(s.shuffle));
    serialize_to(w, s.addresses);
  }
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
  for (auto& s : l.shuffles) {
    s.shuffle = deserialize_from<std::int32_t>(in);
    s.addresses = deserialize_from<std::vector<std::string>>(in);
  }
  l.stage_bytes = deserialize_from<std::string>(in);
  expect_end(in, "launch_task");
  return l;
}

std::string encode(const Result& r) {
  return pack(r.task_id, r.counters, r.accumulators, r.cached, r.result);
}

Result decode_result(std::string_view payload) {
  Reader in(payload);
  Result r;
  r.task_id = deserialize_from<std::uint64_t>(in);
  r.counters = deserialize_from<Counters>(in);
  r.accumulators = deserialize_from<AccumulatorUpdates>(in);
  r.cached = deserialize_from<std::vector<std::uint64_t>>(in);
  r.result = deserialize_from<std::string>(in);
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

std::string encode(const Fetch& f) {
  return pack(static_cast<std::int32_t>(f.shuffle), f.map, f.reduce);
}

Fetch decode_fetch(std::string_view payload) {
  Reader in(payload);
  Fetch f;
  f.shuffle = deserialize_from<std::int32_t>(in);
  f.map = deserialize_from<std::uint64_t>(in);
  f.reduce = deserialize_from<std::uint64_t>(in);
  expect_end(in, "fetch_block");
  return f;
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
