// spate-wordcount: the classic. Splits lines on ASCII whitespace and counts each word.
//
//   spate-wordcount --input PATH [--top N] [--out FILE] [--master M]
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>

namespace {

// One table look-up per byte rather than six comparisons.
constexpr std::array<bool, 256> kSpace = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) t[c] = true;
  return t;
}();

bool is_space(char c) { return kSpace[static_cast<unsigned char>(c)]; }

// Calls emit(word) for every whitespace-separated word of the line; no allocation.
struct SplitWords {
  template <class Emit>
  void operator()(std::string_view line, Emit& emit) const {
    std::size_t i = 0, n = line.size();
    while (i < n) {
      while (i < n && is_space(line[i])) ++i;
      std::size_t start = i;
      while (i < n && !is_space(line[i])) ++i;
      if (i > start) emit(line.substr(start, i - start));
    }
  }
};

constexpr std::string_view kUsage =
    "usage: spate-wordcount --input PATH [--top N] [--out FILE] [spate flags]\n"
    "Counts the whitespace-separated words of text files; prints word<TAB>count, most frequent first.\n"
    "  --input PATH   a file, a directory or a glob (.gz and .zst too)\n"
    "  --top N        only the N most frequent words (default: all)\n"
    "  --out FILE     write there instead of to stdout\n";

// A command-line mistake: one line on stderr, exit code 2.
int usage(const std::string& problem) {
  std::cerr << spate::usage_hint("spate-wordcount", problem) << "\n";
  return 2;
}

int unknown(const std::string& argument) {
  return usage(spate::unknown_argument(argument, {"--input", "--top", "--out"}));
}

}  // namespace

int main(int argc, char** argv) try {
  if (spate::help_requested(argc, argv)) {
    std::cout << kUsage << '\n' << spate::context_flags_help();
    return 0;
  }
  spate::Context ctx(argc, argv);
  spate::CancelOnInterrupt interrupt(ctx);  // Ctrl-C cancels the job; we exit with 130 below
  const auto& args = ctx.args();
  std::string input, out_path;
  std::size_t top = 0;  // 0: all words
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a != "--input" && a != "--out" && a != "--top") return unknown(a);
    if (i + 1 >= args.size()) return usage(a + " needs a value");
    if (a == "--input") input = args[++i];
    else if (a == "--out") out_path = args[++i];
    else {
      const std::string& n = args[++i];
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), top);
      if (ec != std::errc{} || end != n.data() + n.size())
        return usage("--top needs a whole number (0: all words), not '" + n + "'");
    }
  }
  if (input.empty()) return usage("--input is required");

  using WordCount = std::pair<std::string, std::int64_t>;
  auto counts = ctx.text_file(input)
                    .flat_map<std::string_view>(SplitWords{})
                    .map([](std::string_view w) { return std::pair{w, std::int64_t{1}}; })
                    .reduce_by_key(std::plus<>{});
  // Count descending, then word ascending (bytes).
  auto before = [](const WordCount& a, const WordCount& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  // Every word when --top is 0: each partition sorts its own counts where it is, and the
  // driver merges them. A range-partitioned sort_by would move every row through a sampling
  // pass and another shuffle, only to collect them here anyway.
  std::vector<WordCount> rows =
      counts.take_ordered(top > 0 ? top : std::numeric_limits<std::size_t>::max(), before);
  // Sized once and filled with to_chars: a million rows formatted one by one took a tenth of
  // the whole count.
  std::size_t bytes = 0;
  for (const auto& [w, n] : rows) bytes += w.size() + 22;  // tab, up to 20 digits, newline
  std::string result(bytes, '\0');
  char* at = result.data();
  for (const auto& [w, n] : rows) {
    at = std::copy(w.begin(), w.end(), at);
    *at++ = '\t';
    at = std::to_chars(at, at + 20, n).ptr;
    *at++ = '\n';
  }
  result.resize(static_cast<std::size_t>(at - result.data()));
  if (out_path.empty()) {
    std::fwrite(result.data(), 1, result.size(), stdout);
  } else {
    std::ofstream f(out_path, std::ios::binary);
    f << result;
    if (!f.flush()) throw spate::io_error("cannot write " + out_path);
  }
  return 0;
} catch (const spate::config_error& e) {
  return usage(e.what());
} catch (const spate::job_cancelled& e) {
  std::cerr << "spate-wordcount: " << e.what() << "\n";
  return spate::CancelOnInterrupt::kExitStatus;
} catch (const std::exception& e) {
  std::cerr << "spate-wordcount: " << e.what() << "\n";
  return 1;
}
