// What an eavesdropper on the wire sees: tcpdump (Debian's package, installed by scripts/setup
// --test) captures the loopback traffic of a local-cluster job that shuffles and collects records
// with a distinctive text. With the wire encrypted (the default), the capture holds none of it;
// with SPATE_WIRE_ENCRYPTION=off it does, which shows the capture sees the job at all.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process_support.hpp"
#include "test_support.hpp"

namespace {

using namespace spate_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::string_view kCanary = "canary-click-record-";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs a local-cluster[2] job whose records all contain kCanary while tcpdump captures loopback;
// returns the capture's bytes.
std::string capture_job(const TempDir& dir, const std::string& name) {
  fs::path pcap = dir.file(name + ".pcap"), log = dir.file(name + ".log");
  Child tcpdump({"/usr/bin/tcpdump", "-i", "lo", "-U", "-s", "0", "-w", pcap.string(), "tcp"}, {}, log);
  // It is capturing once it says it listens.
  for (int i = 0; i < 250 && slurp(log).find("listening on") == std::string::npos; ++i)
    std::this_thread::sleep_for(20ms);
  REQUIRE(slurp(log).find("listening on") != std::string::npos);
  {
    spate::Context ctx(spate::Options{.master = "local-cluster[2]", .ui = false});
    std::vector<std::string> records;
    for (int i = 0; i < 2000; ++i) records.push_back(std::string(kCanary) + std::to_string(i % 50));
    auto counts = ctx.parallelize(records, 4)
                      .map([](const std::string& s) { return std::pair<std::string, int>(s, 1); })
                      .reduce_by_key(std::plus<>{}, 3)
                      .collect();
    REQUIRE(counts.size() == 50);
  }
  std::this_thread::sleep_for(200ms);  // the last packets into the file
  ::kill(tcpdump.pid, SIGTERM);
  REQUIRE(tcpdump.wait_exit(10s) == 0);
  return slurp(pcap);
}

}  // namespace

TEST_CASE("a capture of a local-cluster job's loopback traffic holds none of its records") {
  REQUIRE(fs::exists("/usr/bin/tcpdump"));  // scripts/setup --test installs it
  TempDir dir;
  {
    ScopedEnv plain("SPATE_WIRE_ENCRYPTION", "off");
    std::string capture = capture_job(dir, "plain");
    INFO("plain capture: " << capture.size() << " bytes");
    CHECK(capture.find(kCanary) != std::string::npos);  // the capture sees the job's records
  }
  std::string capture = capture_job(dir, "sealed");
  INFO("sealed capture: " << capture.size() << " bytes");
  CHECK(capture.size() > 10'000);  // it did capture the job
  CHECK(capture.find(kCanary) == std::string::npos);
  CHECK(capture.find("canary") == std::string::npos);
}
