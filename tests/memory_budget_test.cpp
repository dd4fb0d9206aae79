// The default memory budget: an eighth of what the host or its cgroup gives, within bounds.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/memory_budget.hpp"

namespace fs = std::filesystem;
using spate::detail::cgroup_memory_limit;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

struct CgroupTree {
  fs::path root = fs::temp_directory_path() / ("spate-cgroup-test-" + std::to_string(::getpid()));
  CgroupTree() { fs::create_directories(root); }
  ~CgroupTree() { fs::remove_all(root); }
  void write(const fs::path& file, const std::string& text) const {
    fs::create_directories((root / file).parent_path());
    std::ofstream(root / file) << text << "\n";
  }
};

}  // namespace

TEST_CASE("a cgroup v2 memory limit is the smallest memory.max from the process's cgroup up",
          "[memory]") {
  CgroupTree t;
  t.write("memory.max", "max");
  t.write("service/memory.max", "1073741824");
  t.write("service/job/memory.max", "max");
  CHECK(cgroup_memory_limit(t.root, "0::/service/job\n") == 1024 * kMiB);
  t.write("service/job/memory.max", "536870912");
  CHECK(cgroup_memory_limit(t.root, "0::/service/job\n") == 512 * kMiB);
  CHECK(cgroup_memory_limit(t.root, "0::/elsewhere\n") == 0);
}

TEST_CASE("a cgroup v1 memory limit is read from the memory controller, and 'no limit' is none",
          "[memory]") {
  CgroupTree t;
  t.write("memory/memory.limit_in_bytes", "9223372036854771712");
  t.write("memory/box/memory.limit_in_bytes", "805306368");
  const char* self = "9:name=systemd:/\n4:cpu,memory:/box\n0::/\n";
  CHECK(cgroup_memory_limit(t.root, self) == 768 * kMiB);
  CHECK(cgroup_memory_limit(t.root, "4:memory:/\n") == 0);
  CHECK(cgroup_memory_limit(t.root, "not a cgroup file") == 0);
}

TEST_CASE("the default memory budget is an eighth of the available memory, from 256 MiB to 4 GiB, "
          "shared by a host's executors",
          "[memory]") {
  std::uint64_t available = spate::detail::available_memory();
  REQUIRE(available > 0);
  CHECK(available <= spate::detail::physical_memory());
  std::uint64_t one = spate::detail::default_memory_budget(1);
  CHECK(one == std::clamp<std::uint64_t>(available / 8, 256 * kMiB, 4096 * kMiB));
  CHECK(spate::detail::default_memory_budget(2) == std::max<std::uint64_t>(64 * kMiB, one / 2));
  CHECK(spate::detail::default_memory_budget(1000) == 64 * kMiB);
}
