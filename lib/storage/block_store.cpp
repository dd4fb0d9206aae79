// The in-process block store: maps guarded by one mutex (blocks are coarse, contention is low).
#include "spate/detail/block_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

#include <fmt/format.h>

#include "spate/detail/spill_file.hpp"
#include "spate/detail/task_context.hpp"

namespace spate::detail {

BlockStore::BlockStore() {
  memory_.set_reclaimer([this](std::uint64_t bytes) { move_outputs_to_disk(bytes); });
}

std::uint64_t BlockStore::move_outputs_to_disk(std::uint64_t bytes) {
  using Key = std::pair<int, std::size_t>;
  std::vector<std::pair<Key, std::shared_ptr<const MapOutput>>> candidates;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, out] : map_outputs_)
      if (out->memory_bytes() > 0) candidates.emplace_back(key, out);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.second->memory_bytes() > b.second->memory_bytes(); });
  std::uint64_t moved = 0;
  for (auto& [key, out] : candidates) {
    if (moved >= bytes) break;
    // Written outside the lock: readers go on with the in-memory output meanwhile.
    std::shared_ptr<const MapOutput> on_disk;
    try {
      on_disk = out->to_disk(spill_dir_);
    } catch (const std::exception&) {
      break;  // no room on disk either: the outputs stay in memory, and the caller spills or grows
    }
    if (!on_disk) continue;
    std::lock_guard lock(mutex_);
    auto it = map_outputs_.find(key);
    if (it == map_outputs_.end() || it->second != out) continue;  // dropped or replaced meanwhile
    moved += out->memory_bytes();
    it->second = std::move(on_disk);
  }
  if (TaskContext* tc = current_task(); tc != nullptr && moved > 0) tc->add_counter("spill.bytes", moved);
  return moved;
}

void BlockStore::put_map_output(int shuffle_id, std::size_t map_partition,
                                std::shared_ptr<const MapOutput> output) {
  std::lock_guard lock(mutex_);
  map_outputs_.insert_or_assign({shuffle_id, map_partition}, std::move(output));
}

void BlockStore::drop_map_output(int shuffle_id, std::size_t map_partition) {
  std::lock_guard lock(mutex_);
  map_outputs_.erase({shuffle_id, map_partition});
}

std::shared_ptr<const MapOutput> BlockStore::map_output(int shuffle_id,
                                                        std::size_t map_partition) const {
  std::lock_guard lock(mutex_);
  auto it = map_outputs_.find({shuffle_id, map_partition});
  return it == map_outputs_.end() ? nullptr : it->second;
}

std::uint64_t BlockStore::map_output_memory() const {
  std::lock_guard lock(mutex_);
  std::uint64_t bytes = 0;
  for (const auto& [key, out] : map_outputs_) bytes += out->memory_bytes();
  return bytes;
}

std::size_t BlockStore::map_outputs_held() const {
  std::lock_guard lock(mutex_);
  return map_outputs_.size();
}

void BlockStore::drop_shuffle(int shuffle_id) {
  std::lock_guard lock(mutex_);
  auto it = map_outputs_.lower_bound({shuffle_id, 0});
  while (it != map_outputs_.end() && it->first.first == shuffle_id) it = map_outputs_.erase(it);
  std::erase(idle_shuffles_, shuffle_id);
}

std::uint64_t BlockStore::idle_output_limit() const {
  return std::max<std::uint64_t>(budget() / 64, std::uint64_t{16} << 20);
}

void BlockStore::shuffle_idle(int shuffle_id) {
  using Key = std::pair<int, std::size_t>;
  std::vector<std::pair<Key, std::shared_ptr<const MapOutput>>> to_move;
  {
    std::lock_guard lock(mutex_);
    std::erase(idle_shuffles_, shuffle_id);
    idle_shuffles_.push_back(shuffle_id);
    // In-memory bytes per idle shuffle, newest first: what is past the limit moves.
    std::uint64_t kept = 0, limit = idle_output_limit();
    for (auto s = idle_shuffles_.rbegin(); s != idle_shuffles_.rend(); ++s) {
      auto it = map_outputs_.lower_bound({*s, 0});
      for (; it != map_outputs_.end() && it->first.first == *s; ++it) {
        std::uint64_t bytes = it->second->memory_bytes();
        if (bytes == 0) continue;
        if (kept + bytes <= limit) kept += bytes;
        else to_move.emplace_back(it->first, it->second);
      }
    }
  }
  for (auto& [key, out] : to_move) {
    // Written outside the lock, as move_outputs_to_disk does: readers go on meanwhile.
    std::shared_ptr<const MapOutput> on_disk;
    try {
      on_disk = out->to_disk(spill_dir_);
    } catch (const std::exception&) {
      return;  // no room on disk: they stay in memory, where memory pressure may move them later
    }
    if (!on_disk) continue;
    std::lock_guard lock(mutex_);
    auto it = map_outputs_.find(key);
    if (it != map_outputs_.end() && it->second == out) it->second = std::move(on_disk);
  }
  // Shuffles with nothing left in memory leave the list, which so stays short.
  std::lock_guard lock(mutex_);
  std::erase_if(idle_shuffles_, [&](int s) {
    auto it = map_outputs_.lower_bound({s, 0});
    for (; it != map_outputs_.end() && it->first.first == s; ++it)
      if (it->second->memory_bytes() > 0) return false;
    return true;
  });
}

namespace {

/// Stores `entry` (whose memory is already reserved in `memory`) at `key` of the cached
/// partitions, freeing what an entry there held, and keeps the memory and disk totals right.
template <class Map>
void replace_cached(Map& cached, const typename Map::key_type& key, typename Map::mapped_type entry,
                    MemoryPool& memory, std::uint64_t& memory_total, std::uint64_t& disk_total) {
  if (auto it = cached.find(key); it != cached.end()) {
    memory.release(it->second.bytes);
    memory_total -= it->second.bytes;
    disk_total -= it->second.disk_bytes;
  }
  memory_total += entry.bytes;
  disk_total += entry.disk_bytes;
  cached.insert_or_assign(key, std::move(entry));
}

}  // namespace

bool BlockStore::put_cached_block(std::uint64_t node_id, std::size_t partition,
                                  std::shared_ptr<const void> block, std::size_t bytes) {
  std::lock_guard lock(mutex_);
  if (!memory_.try_reserve(bytes)) return false;
  replace_cached(cached_, {node_id, partition}, {std::move(block), bytes, 0, false}, memory_,
                 cached_total_, cached_disk_total_);
  return true;
}

void BlockStore::put_cached_reserved(std::uint64_t node_id, std::size_t partition,
                                     std::shared_ptr<const void> block, std::size_t bytes,
                                     MemoryReservation& reservation) {
  if (&reservation.pool() != &memory_ || reservation.held() < bytes)
    throw error(fmt::format("block store: cached partition {} of node {} needs {} reserved bytes of the "
                            "task memory pool, and its reservation holds {}{}",
                            partition, node_id, bytes, reservation.held(),
                            &reservation.pool() != &memory_ ? " of another pool" : ""));
  std::lock_guard lock(mutex_);
  reservation.shrink_to(bytes);
  reservation.hand_over();
  replace_cached(cached_, {node_id, partition}, {std::move(block), bytes, 0, false}, memory_,
                 cached_total_, cached_disk_total_);
}

void BlockStore::put_cached_on_disk(std::uint64_t node_id, std::size_t partition,
                                    std::shared_ptr<const DiskPartition> block, std::uint64_t disk_bytes) {
  std::lock_guard lock(mutex_);
  replace_cached(cached_, {node_id, partition}, {std::move(block), 0, disk_bytes, true}, memory_,
                 cached_total_, cached_disk_total_);
}

BlockStore::CachedEntry BlockStore::cached_entry(std::uint64_t node_id, std::size_t partition) const {
  std::lock_guard lock(mutex_);
  auto it = cached_.find({node_id, partition});
  if (it == cached_.end()) return {};
  return {it->second.block, it->second.on_disk};
}

std::shared_ptr<const void> BlockStore::cached_block(std::uint64_t node_id,
                                                     std::size_t partition) const {
  std::lock_guard lock(mutex_);
  auto it = cached_.find({node_id, partition});
  return it == cached_.end() ? nullptr : it->second.block;
}

void BlockStore::drop_cached(std::uint64_t node_id) {
  std::lock_guard lock(mutex_);
  auto it = cached_.lower_bound({node_id, 0});
  while (it != cached_.end() && it->first.first == node_id) {
    cached_total_ -= it->second.bytes;
    cached_disk_total_ -= it->second.disk_bytes;
    memory_.release(it->second.bytes);
    it = cached_.erase(it);
  }
}

std::size_t BlockStore::cached_bytes() const {
  std::lock_guard lock(mutex_);
  return cached_total_;
}

std::uint64_t BlockStore::cached_disk_bytes() const {
  std::lock_guard lock(mutex_);
  return cached_disk_total_;
}

void BlockStore::set_budget(std::uint64_t bytes) {
  memory_.set_budget(bytes);
  output_memory_.set_budget(bytes / 2);
}

std::uint64_t BlockStore::budget() const { return memory_.budget(); }

std::string BlockStore::default_spill_dir() {
  for (const char* name : {"SPATE_SPILL_DIR", "TMPDIR"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
  return "/tmp";
}

}  // namespace spate::detail
