// StorageLevel: where Dataset::persist keeps the partitions it computes.
#pragma once

#include <cstdint>
#include <string_view>

namespace spate {

/// Where persisted partitions live, as in Spark's StorageLevel (without replication or
/// off-heap). A partition is kept by the executor process that computed it; one that is lost
/// with its process, or that did not fit, is computed again from lineage when next read.
enum class StorageLevel : std::uint8_t {
  /// Not persisted: every action computes the partitions again.
  none = 0,
  /// Records kept as they are in the process's memory, within its memory budget; a partition
  /// that outgrows what the budget grants while it is computed is not kept (Spark's MEMORY_ONLY).
  memory_only = 1,
  /// Records encoded into a spill file (spill compression, a checksum per block); reading
  /// decodes them. Holds no memory once written (Spark's DISK_ONLY).
  disk_only = 2,
  /// In memory when the partition fits in the budget; one that outgrows it while it is computed
  /// moves to disk, what was kept so far and every later record (Spark's MEMORY_AND_DISK).
  memory_and_disk = 3,
};

/// "memory_only", "disk_only", ...: the level's name, for messages.
constexpr std::string_view to_string(StorageLevel level) noexcept {
  switch (level) {
    case StorageLevel::none: return "none";
    case StorageLevel::memory_only: return "memory_only";
    case StorageLevel::disk_only: return "disk_only";
    case StorageLevel::memory_and_disk: return "memory_and_disk";
  }
  return "unknown";
}

/// True when the level may keep partitions on disk (records must then be serializable).
constexpr bool uses_disk(StorageLevel level) noexcept {
  return level == StorageLevel::disk_only || level == StorageLevel::memory_and_disk;
}

}  // namespace spate
