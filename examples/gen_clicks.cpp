// spate-gen-clicks: writes a deterministic click log and its campaigns.tsv (CLICKLOG.md).
// Usage: spate-gen-clicks --rows N --seed S --out FILE [--users N] [--bad-rate R]
//                         [--campaigns-out FILE]
#include <spate/clicklog_generator.hpp>
#include <spate/command_line.hpp>
#include <spate/error.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-gen-clicks --rows N --seed S --out FILE [--users N] [--bad-rate R]\n"
    "                        [--campaigns-out FILE]\n"
    "  --rows N             valid rows to write (after the header line)\n"
    "  --seed S             unsigned 64-bit seed; the same seed gives the same bytes\n"
    "  --out FILE           the click log to write\n"
    "  --users N            distinct users (default 1000000)\n"
    "  --bad-rate R         chance in [0, 1] of a malformed line before each row (default 0)\n"
    "  --campaigns-out FILE the dimension table (default: campaigns.tsv beside --out)\n";

// A command-line mistake: one line on stderr (from usage_hint), exit code 2.
struct UsageError {
  std::string line;
};

UsageError bad(const std::string& problem) { return {spate::usage_hint("spate-gen-clicks", problem)}; }

template <class Int>
Int parse_int(std::string_view flag, std::string_view text) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || text[0] == '-') {
    throw bad(std::string(flag) + " expects a non-negative integer, got '" +
                     std::string(text) + "'");
  }
  return value;
}

double parse_rate(std::string_view flag, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) || value < 0 ||
      value > 1) {
    throw bad(std::string(flag) + " expects a number between 0 and 1, got '" + text + "'");
  }
  return value;
}

spate::ClickGenOptions parse_args(int argc, char** argv) {
  spate::ClickGenOptions options;
  bool have_rows = false, have_seed = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    std::string value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = std::string(flag.substr(eq + 1));
      flag = flag.substr(0, eq);
    } else if (flag == "--rows" || flag == "--seed" || flag == "--out" || flag == "--users" ||
               flag == "--bad-rate" || flag == "--campaigns-out") {
      if (i + 1 >= argc) throw bad(std::string(flag) + " needs a value");
      value = argv[++i];
    }
    if (flag == "--rows") {
      options.rows = parse_int<std::int64_t>(flag, value);
      have_rows = true;
    } else if (flag == "--seed") {
      options.seed = parse_int<std::uint64_t>(flag, value);
      have_seed = true;
    } else if (flag == "--out") {
      if (value.empty()) throw bad("--out needs a file name");
      options.out = value;
    } else if (flag == "--users") {
      options.users = parse_int<std::int64_t>(flag, value);
    } else if (flag == "--bad-rate") {
      options.bad_rate = parse_rate(flag, value);
    } else if (flag == "--campaigns-out") {
      if (value.empty()) throw bad("--campaigns-out needs a file name");
      options.campaigns_out = value;
    } else {
      throw bad(spate::unknown_argument(
          argv[i], {"--rows", "--seed", "--out", "--users", "--bad-rate", "--campaigns-out"}));
    }
  }
  if (!have_rows) throw bad("--rows is required");
  if (!have_seed) throw bad("--seed is required");
  if (options.out.empty()) throw bad("--out is required");
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
  }
  try {
    const spate::ClickGenSummary s = spate::generate_clicks(parse_args(argc, argv));
    std::fprintf(stderr,
                 "wrote %lld rows and %lld malformed lines (%llu bytes) to %s, %lld "
                 "campaigns to %s\n",
                 static_cast<long long>(s.rows), static_cast<long long>(s.malformed_lines),
                 static_cast<unsigned long long>(s.bytes), s.out.c_str(),
                 static_cast<long long>(s.campaigns), s.campaigns_out.c_str());
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", e.line.c_str());
    return 2;
  } catch (const spate::config_error& e) {
    std::fprintf(stderr, "spate-gen-clicks: %s\n", e.what());
    return 2;
  } catch (const spate::error& e) {
    std::fprintf(stderr, "spate-gen-clicks: %s\n", e.what());
    return 1;
  }
}
