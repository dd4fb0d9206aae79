// PageRank's memory over a long lineage: Spark's PageRank example, run by spate-bench-pagerank for
// 10 and for 50 iterations, each in a process of its own. Its lineage holds every shuffle it
// made, so its memory stays flat only if what no stage reads any more leaves memory. In a file
// of its own, outside the scheduler label: the TSan build has no benchmark programs, and RSS
// under a sanitizer says little.
#include <string>

#include "process_support.hpp"
#include "test_paths.hpp"
#include "test_support.hpp"

using namespace spate_test;

TEST_CASE("PageRank's peak memory over 50 iterations is within 1.3x of its peak over 10") {
  // spate-bench-pagerank runs each in a process of its own and checks the ranks against a
  // single-threaded PageRank; its lineage holds every shuffle, which must not all stay in memory.
  auto run = spate_test::run_captured("env -u SPATE_MASTER '" + bin_dir() +
                                      "/spate-bench-pagerank' --master 'local[2]' --pages 100000 --short 10 --long 50");
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto at = run.out.find("peak RSS 50 iterations / 10 iterations: ");
  REQUIRE(at != std::string::npos);
  double ratio = std::stod(run.out.substr(at + std::string("peak RSS 50 iterations / 10 iterations: ").size()));
  CHECK(ratio < 1.3);
}

