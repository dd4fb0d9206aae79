// Help text for Context's flags and hints for mistaken arguments.
#include "spate/command_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace spate {

namespace {

struct FlagHelp {
  std::string_view name;
  std::string_view value;  // "" for a switch
  std::string_view what;
};

// Keep in step with Context(int, char**) in lib/context.cpp; tests/command_line_test.cpp checks
// that Context takes every flag listed here.
constexpr std::array kContextFlags{
    FlagHelp{"--master", "M",
             "local, local[N], local[*] (default), local-cluster[N[,CORES]] or spate://HOST:PORT"},
    FlagHelp{"--executor-memory", "SIZE",
             "memory budget of each process that runs tasks (512m, 4g); default 1/8 of the\n"
             "memory (or cgroup limit), from 256m to 4g, shared by local-cluster's executors"},
    FlagHelp{"--shuffle-compression", "CODEC",
             "lz4 (default), zstd or none: shuffle blocks and spill files (local modes\n"
             "keep shuffle outputs uncompressed unless a codec is given)"},
    FlagHelp{"--task-attempts", "N", "attempts per task before the job fails (default 4)"},
    FlagHelp{"--scheduler-mode", "MODE",
             "FIFO (default: the oldest job's tasks first) or FAIR (pools share the slots;\n"
             "a thread picks its pool with Context::set_scheduler_pool)"},
    FlagHelp{"--speculation", "", "run a copy of a slow task on another executor; the first wins"},
    FlagHelp{"--metrics", "", "print the job counters to stderr at the end"},
    FlagHelp{"--event-log", "DIR", "write scheduler events to DIR as JSON lines"},
    FlagHelp{"--checkpoint-dir", "DIR", "where Dataset::checkpoint() writes (shared by every host)"},
    FlagHelp{"--no-progress", "", "no progress line on a terminal"},
    FlagHelp{"--ui-port", "N", "status page port (default 4040, 0: any free port)"},
    FlagHelp{"--ui-host", "ADDRESS", "status page address (default 127.0.0.1)"},
    FlagHelp{"--no-ui", "", "no status page"},
    FlagHelp{"--heartbeat-timeout", "SECONDS", "silence after which a peer is taken for gone (10)"},
    FlagHelp{"--min-executors", "N", "spate://: executors to wait for before the first job (1)"},
    FlagHelp{"--executor-wait", "SECONDS", "spate://: how long to wait for them (60)"},
    FlagHelp{"--executor-restarts", "N", "local-cluster: lost executors replaced (default 16)"},
    FlagHelp{"--executor", "spate://HOST:PORT", "become an executor of that driver"},
    FlagHelp{"--executor-cores", "N", "an executor's task slots (default 1)"},
    FlagHelp{"--executor-host", "ADDRESS", "the address other executors fetch from"},
    FlagHelp{"--executor-id", "ID", "an executor's name in logs and the status page"},
};

std::string make_help() {
  std::string out = "spate's flags (any program that builds its Context from the command line):\n";
  for (const auto& f : kContextFlags) {
    std::string head = f.value.empty() ? std::string(f.name) : fmt::format("{} {}", f.name, f.value);
    std::string_view what = f.what;
    bool first = true;
    while (!what.empty()) {
      auto nl = what.find('\n');
      std::string_view line = what.substr(0, nl);
      // A long flag gets its description on the next line rather than a ragged column.
      if (first && head.size() > 24) {
        out += fmt::format("  {}\n", head);
        first = false;
      }
      out += fmt::format("  {:<24} {}\n", first ? head : "", line);
      first = false;
      what = nl == std::string_view::npos ? std::string_view{} : what.substr(nl + 1);
    }
  }
  return out;
}

// Optimal string alignment distance: a transposed pair counts as one edit, as typos do.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

bool help_requested(int argc, const char* const* argv) noexcept {
  for (int i = 1; i < argc && argv != nullptr; ++i) {
    std::string_view a = argv[i] != nullptr ? argv[i] : "";
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

std::string_view context_flags_help() noexcept {
  static const std::string help = make_help();
  return help;
}

std::string usage_hint(std::string_view program, std::string_view problem) {
  return fmt::format("{}: {} ({} --help lists the flags)", program, problem, program);
}

std::string unknown_argument(std::string_view argument, std::initializer_list<std::string_view> known) {
  std::string_view name = argument.substr(0, argument.find('='));
  std::string_view best;
  std::size_t best_distance = 0;
  auto consider = [&](std::string_view flag) {
    std::size_t d = edit_distance(name, flag);
    if (best.empty() || d < best_distance) {
      best = flag;
      best_distance = d;
    }
  };
  for (auto flag : known) consider(flag);
  for (const auto& f : kContextFlags) consider(f.name);
  // Two edits in a long flag, one in a short one: closer than that is a different word.
  bool near = !best.empty() && name.starts_with("-") && best_distance > 0 &&
              best_distance <= (name.size() >= 8 ? 2u : 1u);
  std::string problem = fmt::format("unknown argument '{}'", argument);
  if (near) problem += fmt::format(", did you mean {}?", best);
  return problem;
}

}  // namespace spate
