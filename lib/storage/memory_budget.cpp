#include "storage/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace spate::detail {

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

// A limit file's number; 0 for "max", for the near-2^63 that cgroup v1 writes for "none", and
// for anything unreadable.
std::uint64_t read_limit(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text)) return 0;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size()) return 0;
  return v >= (std::uint64_t{1} << 62) ? 0 : v;
}

// The smallest limit from `dir` up to `root` (a parent's limit binds its children too).
std::uint64_t smallest_limit_up(const std::filesystem::path& root, std::filesystem::path dir,
                                const char* file) {
  std::uint64_t best = 0;
  for (;;) {
    if (std::uint64_t v = read_limit(root / dir / file); v != 0 && (best == 0 || v < best)) best = v;
    if (dir.empty() || dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return best;
}

}  // namespace

std::uint64_t physical_memory() noexcept {
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::uint64_t cgroup_memory_limit(const std::filesystem::path& cgroup_root,
                                  std::string_view proc_self_cgroup) noexcept try {
  std::uint64_t best = 0;
  auto take = [&](std::uint64_t v) {
    if (v != 0 && (best == 0 || v < best)) best = v;
  };
  std::istringstream lines{std::string(proc_self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    // "ID:CONTROLLERS:PATH": v2 has ID 0 and no controllers; v1 names "memory".
    auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    std::filesystem::path path = std::filesystem::path(line.substr(second + 1)).relative_path();
    // The walk up ends at the root, which is ours inside a cgroup namespace even when the
    // path named here does not exist below it.
    if (line.starts_with("0::")) {
      take(smallest_limit_up(cgroup_root, path, "memory.max"));
    } else if (controllers == "memory" || controllers.find("memory,") == 0 ||
               controllers.find(",memory") != std::string_view::npos) {
      take(smallest_limit_up(cgroup_root / "memory", path, "memory.limit_in_bytes"));
    }
  }
  return best;
} catch (...) {
  return 0;
}

std::uint64_t available_memory() noexcept {
  std::uint64_t phys = physical_memory();
  std::string self;
  {
    std::ifstream in("/proc/self/cgroup");
    std::ostringstream s;
    s << in.rdbuf();
    self = s.str();
  }
  std::uint64_t limit = cgroup_memory_limit("/sys/fs/cgroup", self);
  if (phys == 0) return limit;
  return limit == 0 ? phys : std::min(phys, limit);
}

std::uint64_t default_memory_budget(std::size_t processes) noexcept {
  std::uint64_t available = available_memory();
  if (available == 0) available = std::uint64_t{4} << 30;  // unknown: assume a small machine
  std::uint64_t total = std::clamp<std::uint64_t>(available / 8, 256 * kMiB, 4096 * kMiB);
  return std::max<std::uint64_t>(64 * kMiB, total / std::max<std::size_t>(1, processes));
}

}  // namespace spate::detail
