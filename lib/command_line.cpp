// Context's flags (one table, from which Boost.Program_options parses them and prints their
// help) and hints for mistaken arguments.
#include "spate/command_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/program_options.hpp>
#include <sstream>
#include <vector>

#include "context_flags.hpp"
#include "spate/error.hpp"

namespace spate {

namespace {

struct FlagHelp {
  std::string_view name;
  std::string_view value;  // "" for a switch
  std::string_view what;
};

// Context(int, char**) in lib/context.cpp validates the value of each; tests/command_line_test.cpp
// checks that it takes every flag listed here.
constexpr std::array kContextFlags{
    FlagHelp{"--master", "M",
             "local, local[N], local[*] (default), local-cluster[N[,CORES]] or spate://HOST:PORT"},
    FlagHelp{"--executor-memory", "SIZE",
             "memory budget of each process that runs tasks (512m, 4g); default 1/8 of the "
             "memory (or cgroup limit), from 256m to 4g, shared by local-cluster's executors"},
    FlagHelp{"--shuffle-compression", "CODEC",
             "lz4 (default), zstd or none: shuffle blocks and spill files (local modes "
             "keep shuffle outputs uncompressed unless a codec is given)"},
    FlagHelp{"--task-attempts", "N", "attempts per task before the job fails (default 4)"},
    FlagHelp{"--scheduler-mode", "MODE",
             "FIFO (default: the oldest job's tasks first) or FAIR (pools share the slots; "
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

namespace po = boost::program_options;

// The table as Program_options sees it; values are taken as text and checked by Context, whose
// messages say what each flag allows.
const po::options_description& context_options() {
  static const po::options_description description = [] {
    // Wide enough that no description wraps in the middle of a phrase.
    po::options_description d("spate's flags (any program that builds its Context from the command line)",
                              100, 60);
    for (const auto& f : kContextFlags) {
      std::string name(f.name.substr(2));
      std::string what(f.what);
      if (f.value.empty())
        d.add_options()(name.c_str(), po::bool_switch(), what.c_str());
      else
        d.add_options()(name.c_str(), po::value<std::string>()->value_name(std::string(f.value)), what.c_str());
    }
    return d;
  }();
  return description;
}

std::string make_help() {
  std::ostringstream text;
  text << context_options();
  // Program_options leaves the space it wrapped at on the end of the line.
  std::string out;
  std::istringstream lines(text.str());
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

// "--name value", "--name=value"; nothing short, and no abbreviations: "--exec" is a program's
// argument, not a guess at one of ours.
constexpr int kStyle = po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
                       po::command_line_style::long_allow_next;

// Parses one stretch of arguments that holds no "--" into `out`.
void split_stretch(const std::vector<std::string>& args, detail::SplitCommandLine& out) {
  if (args.empty()) return;
  po::parsed_options parsed(nullptr);
  try {
    parsed = po::command_line_parser(args).options(context_options()).style(kStyle).allow_unregistered().run();
  } catch (const po::invalid_command_line_syntax& e) {
    if (e.kind() == po::invalid_command_line_syntax::missing_parameter)
      throw config_error(fmt::format("{} needs a value", e.get_option_name()));
    if (e.kind() == po::invalid_command_line_syntax::extra_parameter)
      throw config_error(fmt::format("{} takes no value", e.get_option_name()));
    throw config_error(e.what());
  } catch (const po::error& e) {
    throw config_error(e.what());
  }
  for (auto& o : parsed.options) {
    if (o.unregistered || o.string_key.empty()) {
      for (auto& t : o.original_tokens) out.rest.push_back(std::move(t));
    } else {
      out.flags.push_back({"--" + o.string_key, o.value.empty() ? std::string() : std::move(o.value.front())});
    }
  }
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

namespace detail {

SplitCommandLine split_context_flags(int argc, const char* const* argv) {
  SplitCommandLine out;
  if (argc <= 0 || argv == nullptr) return out;
  out.rest.emplace_back(argv[0]);
  // Program_options takes "--" for the end of the options and drops it; spate's flags come
  // anywhere (spate-launch appends --master after a program's own arguments), and "--" is the
  // program's to interpret, so each stretch between two is parsed alone.
  std::vector<std::string> stretch;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i] != nullptr ? argv[i] : "";
    if (a == "--") {
      split_stretch(stretch, out);
      stretch.clear();
      out.rest.push_back(std::move(a));
    } else {
      stretch.push_back(std::move(a));
    }
  }
  split_stretch(stretch, out);
  return out;
}

}  // namespace detail

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
