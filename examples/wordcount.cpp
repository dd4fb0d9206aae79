// spate-wordcount: the classic. Splits lines on ASCII whitespace and counts each word.
//
//   spate-wordcount --input PATH [--top N] [--out FILE] [--master M]
#include <spate/spate.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

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

int usage(const std::string& problem) {
  std::cerr << "spate-wordcount: " << problem << "\n"
            << "usage: spate-wordcount --input PATH [--top N] [--out FILE] [--master M]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  spate::Context ctx(argc, argv);
  const auto& args = ctx.args();
  std::string input, out_path;
  std::size_t top = 0;  // 0: all words
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return usage("unexpected argument '" + a + "'");
    if (a == "--input") input = args[++i];
    else if (a == "--out") out_path = args[++i];
    else if (a == "--top") top = std::stoul(args[++i]);
    else return usage("unexpected argument '" + a + "'");
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
  std::vector<WordCount> rows =
      top > 0 ? counts.take_ordered(top, before)
              : counts.sort_by([](const WordCount& wc) { return std::pair{-wc.second, wc.first}; })
                    .collect();
  std::string result;
  for (const auto& [w, n] : rows) result += fmt::format("{}\t{}\n", w, n);
  if (out_path.empty()) {
    std::fwrite(result.data(), 1, result.size(), stdout);
  } else {
    std::ofstream f(out_path, std::ios::binary);
    f << result;
    if (!f.flush()) throw spate::io_error("cannot write " + out_path);
  }
  return 0;
} catch (const std::invalid_argument& e) {
  return usage(e.what());
} catch (const std::exception& e) {
  std::cerr << "spate-wordcount: " << e.what() << "\n";
  return 1;
}
