// spate-history: prints the summary of an event log (docs/event-log.md).
//
//   spate-history [--job N] [--top K] FILE
#include <charconv>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "history/history_summary.hpp"
#include "spate/command_line.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: spate-history [--job N] [--top K] FILE\n"
    "  FILE     an event log written with --event-log DIR, or such a directory (then its newest\n"
    "           spate-events-*.jsonl)\n"
    "  --job N  only job N\n"
    "  --top K  list the K slowest tasks of each job (default 5)\n"
    "Prints the jobs' stages with their times, the slowest tasks, skew, retries, lost executors\n"
    "and where the time went.\n";

// A bad command line: exit 2 with a one-line hint, as opposed to a bad log (exit 1).
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int positive(std::string_view flag, std::string_view text) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1)
    throw usage_error(std::string(flag) + " needs a whole number of 1 or more, not '" +
                      std::string(text) + "'");
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    spate::history::SummaryOptions options;
    std::optional<std::string> file;
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      auto value = [&]() -> std::string_view {
        if (i + 1 >= argc) throw usage_error(std::string(a) + " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--job") {
        options.job = positive(a, value());
      } else if (a == "--top") {
        options.top = static_cast<std::size_t>(positive(a, value()));
      } else if (!a.starts_with("-") && !file) {
        file = std::string(a);
      } else {
        throw usage_error(spate::unknown_argument(a, {"--job", "--top"}));
      }
    }
    if (!file) throw usage_error("no FILE given");
    auto log = spate::history::read_event_log_file(spate::history::pick_event_log(*file));
    std::string summary = spate::history::render_summary(log, options);
    std::fwrite(summary.data(), 1, summary.size(), stdout);
    if (std::fflush(stdout) != 0) throw std::runtime_error("cannot write the summary to stdout");
    return 0;
  } catch (const usage_error& e) {
    std::cerr << spate::usage_hint("spate-history", e.what()) << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "spate-history: " << e.what() << '\n';
    return 1;
  }
}
