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

TEST_CASE("every bundled program answers --help and -h with its own flags, and spate's where it reads them",
          "[cli]") {
  struct Case {
    std::string program;
    std::vector<std::string> own;  // some of its own flags, which the help must name
    bool context;                  // builds a Context from the command line: lists spate's flags
  };
  const std::vector<Case> cases = {
      {"spate-clicks", {"--input", "--campaigns", "--out", "--strict"}, true},
      {"spate-wordcount", {"--input", "--top", "--out"}, true},
      {"spate-gen-clicks", {"--rows", "--seed", "--out", "--bad-rate"}, false},
      {"spate-history", {"--job", "--top"}, false},
      {"spate-bench-clicks", {"--rows", "--masters", "--repeat", "--wire"}, false},
      {"spate-bench-words", {"--mb", "--masters", "--other"}, false},
      {"spate-bench-spill", {"--budget-mb"}, true},
      {"spate-bench-recovery", {"--rows", "--executors", "--repeat"}, true},
      {"spate-bench-shuffle", {"--maps", "--reducers", "--sort-mb"}, false},
      {"spate-bench-scheduler", {}, true},
      {"spate-bench-pagerank", {}, true},
      {"spate-bench-kmeans", {"--points", "--dims", "--k", "--iterations"}, true},
      {"spate-bench-speculation", {"--executors", "--partitions", "--work", "--repeat"}, false},
      {"spate-bench-formats", {"--rows", "--repeat", "--data-dir"}, false},
      {"spate-bench-outputs", {"--rows", "--repeat", "--dir"}, false},
      {"spate-handwritten-clicks", {"--input", "--campaigns", "--out"}, false},
      {"spate-handwritten-wordcount", {"--input", "--out"}, false},
  };
  for (const auto& c : cases) {
    for (std::string flag : {"--help", "-h"}) {
      INFO(c.program << " " << flag);
      Run r = run_program(c.program, flag);
      CHECK(r.exit_code == 0);
      CHECK(r.err.empty());
      CHECK(r.out.starts_with("usage: " + c.program));
      CHECK(r.out.find("unexpected argument") == std::string::npos);
      for (const auto& own : c.own) CHECK(r.out.find(own + " ") != std::string::npos);
      if (c.context) {
        CHECK(r.out.find(std::string(spate::context_flags_help())) != std::string::npos);
        CHECK(r.out.find("  --master M") != std::string::npos);
      }
    }
  }
  // Programs that build a Context answer --help among their other arguments too.
  for (std::string program : {"spate-clicks", "spate-wordcount"}) {
    INFO(program);
    Run r = run_program(program, "ctr --help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(std::string(spate::context_flags_help())) != std::string::npos);
  }
  // The launcher, a script: its flags, and a word on the program's.
  for (std::string flag : {"--help", "-h"}) {
    INFO("spate-launch " << flag);
    Run r = spate_test::run_captured("'" + spate_test::source_dir() + "/scripts/spate-launch' " + flag);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.starts_with("usage: spate-launch"));
    for (std::string own : {"--hosts", "--secret-file", "--cores", "--port", "--dry-run"})
      CHECK(r.out.find("  " + own + " ") != std::string::npos);
    CHECK(r.out.find("--master") != std::string::npos);
    CHECK(r.out.find("unexpected argument") == std::string::npos);
  }
}

TEST_CASE("Context keeps the program's arguments, \"--\" too, and reads spate's flags anywhere", "[cli]") {
  const char* argv[] = {"prog", "ctr",       "--input", "x", "--", "--no-ui", "--master=local[2]",
                        "-h",   "--mast", "y",       "--metrics"};
  spate::Context ctx(static_cast<int>(std::size(argv)), argv);
  CHECK(ctx.args() == std::vector<std::string>{"prog", "ctr", "--input", "x", "--", "-h", "--mast", "y"});
  CHECK(ctx.master() == "local[2]");
  // A later flag overrides an earlier one, as before.
  const char* twice[] = {"prog", "--no-ui", "--master", "local[1]", "--master", "local[3]"};
  CHECK(spate::Context(static_cast<int>(std::size(twice)), twice).master() == "local[3]");
}

TEST_CASE("Context refuses a flag without its value, a switch with one, and a malformed value", "[cli]") {
  auto message = [](std::vector<const char*> argv) -> std::string {
    try {
      spate::Context ctx(static_cast<int>(argv.size()), argv.data());
    } catch (const spate::config_error& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(message({"prog", "--no-ui", "--master"}) == "--master needs a value");
  CHECK(message({"prog", "--no-ui", "--metrics=yes"}) == "--metrics takes no value");
  CHECK(message({"prog", "--no-ui", "--task-attempts", "0"}) == "--task-attempts 0: must be a number from 1 to 1000");
  CHECK(message({"prog", "--no-ui", "--executor-memory=12"}) ==
        "--executor-memory 12: must be a size of at least 1m, in bytes or with a k, m, g or t suffix (512m, 4g)");
  CHECK(message({"prog", "--no-ui", "--ui-port", "70000"}) ==
        "--ui-port 70000: must be a port from 0 (any free port) to 65535");
  CHECK(message({"prog", "--no-ui", "--master", "locl"}).starts_with("--master locl: not a master URL"));
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
