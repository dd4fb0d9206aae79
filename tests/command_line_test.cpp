// The command line of spate's programs: --help, hints for mistaken arguments, and the flags
// that Context reads.
#include <spate/command_line.hpp>
#include <spate/spate.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "process_support.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

using Run = spate_test::CommandRun;

// Runs a program of build/bin with the arguments (a shell string), no master from outside.
Run run_program(const std::string& program, const std::string& args) {
  return spate_test::run_captured("env -u SPATE_MASTER '" + spate_test::bin_dir() + "/" + program + "' " + args);
}

// The flags context_flags_help() lists: the first word of each line that starts with "  --".
std::vector<std::string> listed_flags() {
  std::vector<std::string> flags;
  std::istringstream in{std::string(spate::context_flags_help())};
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("  --")) continue;
    flags.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return flags;
}

}  // namespace

TEST_CASE("help_requested finds --help or -h anywhere after the program name", "[cli]") {
  const char* none[] = {"prog", "--input", "x"};
  const char* long_form[] = {"prog", "ctr", "--help"};
  const char* short_form[] = {"prog", "-h", "--input"};
  const char* program_only[] = {"--help"};
  CHECK_FALSE(spate::help_requested(3, none));
  CHECK(spate::help_requested(3, long_form));
  CHECK(spate::help_requested(3, short_form));
  CHECK_FALSE(spate::help_requested(1, program_only));
  CHECK_FALSE(spate::help_requested(0, nullptr));
}

TEST_CASE("unknown_argument suggests the flag a typo was meant to be, and nothing for other words",
          "[cli]") {
  CHECK(spate::unknown_argument("--inptu", {"--input", "--out"}) ==
        "unknown argument '--inptu', did you mean --input?");
  CHECK(spate::unknown_argument("--inptu=a.tsv", {"--input", "--out"}) ==
        "unknown argument '--inptu=a.tsv', did you mean --input?");
  // Context's own flags are candidates too.
  CHECK(spate::unknown_argument("--mastr", {"--input"}) ==
        "unknown argument '--mastr', did you mean --master?");
  CHECK(spate::unknown_argument("--executor-memroy", {}) ==
        "unknown argument '--executor-memroy', did you mean --executor-memory?");
  CHECK(spate::unknown_argument("--colour", {"--input", "--out"}) == "unknown argument '--colour'");
  CHECK(spate::unknown_argument("--shuffle-compresion", {}) ==
        "unknown argument '--shuffle-compresion', did you mean --shuffle-compression?");
  CHECK(spate::unknown_argument("extra", {"--input"}) == "unknown argument 'extra'");
  CHECK(spate::usage_hint("prog", "--input is required") ==
        "prog: --input is required (prog --help lists the flags)");
}

TEST_CASE("Context takes every flag that context_flags_help lists", "[cli]") {
  // A valid value for each flag that takes one; --executor itself would make this an executor.
  const std::map<std::string, std::string> values = {
      {"--master", "local[1]"},      {"--executor-memory", "64m"}, {"--task-attempts", "2"},
      {"--event-log", "unused-dir"}, {"--ui-port", "0"},           {"--ui-host", "127.0.0.1"},
      {"--heartbeat-timeout", "5"},  {"--min-executors", "1"},     {"--executor-wait", "5"},
      {"--executor-restarts", "3"},  {"--executor-cores", "2"},    {"--executor-host", "127.0.0.1"},
      {"--executor-id", "x"},        {"--shuffle-compression", "zstd"}, {"--scheduler-mode", "FAIR"},
      {"--checkpoint-dir", "unused-dir"}};
  const std::vector<std::string> switches = {"--metrics", "--no-progress", "--no-ui", "--speculation"};
  auto flags = listed_flags();
  REQUIRE(flags.size() == values.size() + switches.size() + 1);
  for (const auto& flag : flags) {
    if (flag == "--executor") continue;
    INFO(flag);
    std::vector<std::string> args = {"prog", "--no-ui", flag};
    if (auto v = values.find(flag); v != values.end()) {
      args.push_back(v->second);
    } else {
      REQUIRE(std::find(switches.begin(), switches.end(), flag) != switches.end());
    }
    if (flag == "--event-log") args[3] = (fs::temp_directory_path() / "spate-cli-test-events").string();
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    spate::Context ctx(static_cast<int>(argv.size()), argv.data());
    CHECK(ctx.args() == std::vector<std::string>{"prog"});
  }
  fs::remove_all(fs::temp_directory_path() / "spate-cli-test-events");
}

TEST_CASE("every bundled program answers --help on stdout with exit 0", "[cli]") {
  for (std::string program :
       {"spate-clicks", "spate-wordcount", "spate-gen-clicks", "spate-history", "spate-bench-clicks",
        "spate-bench-words", "spate-bench-spill", "spate-bench-recovery", "spate-bench-shuffle", "spate-bench-scheduler",
        "spate-bench-pagerank", "spate-bench-kmeans", "spate-bench-formats", "spate-handwritten-clicks",
        "spate-handwritten-wordcount"}) {
    INFO(program);
    Run r = run_program(program, "--help");
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.starts_with("usage: " + program));
  }
  // Programs that build a Context list spate's flags after their own.
  for (std::string program : {"spate-clicks", "spate-wordcount"}) {
    INFO(program);
    Run r = run_program(program, "ctr --help");
    CHECK(r.out.find(std::string(spate::context_flags_help())) != std::string::npos);
  }
}

TEST_CASE("a bundled program given a wrong flag prints one line with a hint and exits 2", "[cli]") {
  struct Case {
    std::string program, args, line;
  };
  const std::vector<Case> cases = {
      {"spate-clicks", "ctr --inptu x",
       "spate-clicks: unknown argument '--inptu', did you mean --input? (spate-clicks --help lists "
       "the flags)"},
      {"spate-clicks", "ctr --input x --no-ui --mastr local",
       "spate-clicks: unknown argument '--mastr', did you mean --master? (spate-clicks --help lists "
       "the flags)"},
      {"spate-clicks", "ctr --no-ui", "spate-clicks: --input is required (spate-clicks --help lists the flags)"},
      {"spate-wordcount", "--input x --top many --no-ui",
       "spate-wordcount: --top needs a whole number (0: all words), not 'many' (spate-wordcount "
       "--help lists the flags)"},
      {"spate-gen-clicks", "--rows 1 --seed 1 --out x --bad-rat 0.1",
       "spate-gen-clicks: unknown argument '--bad-rat', did you mean --bad-rate? (spate-gen-clicks "
       "--help lists the flags)"},
      {"spate-bench-clicks", "--rwos 10",
       "spate-bench-clicks: unknown argument '--rwos', did you mean --rows? (spate-bench-clicks "
       "--help lists the flags)"},
      {"spate-bench-words", "--colour red",
       "spate-bench-words: unknown argument '--colour' (spate-bench-words --help lists the flags)"},
      {"spate-bench-spill", "--budget-mb lots",
       "spate-bench-spill: --budget-mb needs a number of MB of 1 or more, not 'lots' "
       "(spate-bench-spill --help lists the flags)"},
      {"spate-bench-recovery", "--repeats 2",
       "spate-bench-recovery: unknown argument '--repeats', did you mean --repeat? "
       "(spate-bench-recovery --help lists the flags)"},
      {"spate-bench-shuffle", "--reducer 5",
       "spate-bench-shuffle: unknown argument '--reducer', did you mean --reducers? "
       "(spate-bench-shuffle --help lists the flags)"},
      {"spate-handwritten-clicks", "ctr --outt x",
       "spate-handwritten-clicks: unknown argument '--outt', did you mean --out? "
       "(spate-handwritten-clicks --help lists the flags)"},
      {"spate-handwritten-wordcount", "--inputs x",
       "spate-handwritten-wordcount: unknown argument '--inputs', did you mean --input? "
       "(spate-handwritten-wordcount --help lists the flags)"},
  };
  for (const auto& c : cases) {
    INFO(c.program << " " << c.args);
    Run r = run_program(c.program, c.args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == c.line + "\n");
  }
}
