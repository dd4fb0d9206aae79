// spate-bench-words: the classic word count over Zipf-distributed words, run with the hand-written
// single-threaded baseline, with spate-wordcount under each master and, if given, with another
// engine's word count (Thrill's) in one run. Checks that every output has the baseline's counts
// and prints throughput, wall time, peak RSS and the ratio to the baseline, with issue 16's
// targets: local[1] within 1.3x of the hand-written count, local[2] within 0.6x of it and at
// most half the other engine's time.
#include <spate/command_line.hpp>

#include "bench_support.hpp"

#include <fmt/core.h>

#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    "usage: spate-bench-words [--mb N] [--data-dir DIR] [--masters LIST] [--repeat R]\n"
    "                         [--bin-dir DIR] [--other COMMAND]\n"
    "  --mb N          size of the generated text in MB (default 200)\n"
    "  --data-dir DIR  where the text is made if missing (default <bin-dir>/../bench-data)\n"
    "  --masters LIST  comma-separated spate masters (default local[1],local[2],local-cluster[2])\n"
    "  --repeat R      runs of each program; the table shows the median wall time (default 3)\n"
    "  --bin-dir DIR   holds spate-wordcount and spate-handwritten-wordcount (default: this\n"
    "                  program's)\n"
    "  --other COMMAND another word count, run as COMMAND INPUT OUTPUT, that writes\n"
    "                  'word: count' lines in any order (Thrill's examples/word_count with 2\n"
    "                  workers, wrapped in a script); its counts are checked like spate's\n";

// The generated text; changing any of these must change the file name (see ensure_text).
constexpr std::uint64_t kSeed = 1;
constexpr std::size_t kVocabulary = 1'000'000;
constexpr double kZipfExponent = 1.0;

// Issue 16's targets: wall time over the hand-written count's, and over the other engine's.
constexpr double kLocal1MaxRatio = 1.3;
constexpr double kLocal2MaxRatio = 0.6;
constexpr double kLocal2MaxOtherRatio = 0.5;

// Bad usage (exit 2) and anything the benchmark cannot go on without (exit 1).
struct UsageError {
  std::string message;
};
struct BenchError {
  std::string message;
};

struct Options {
  std::int64_t mb = 200;
  fs::path data_dir;  // empty: <bin-dir>/../bench-data
  std::vector<std::string> masters{"local[1]", "local[2]", "local-cluster[2]"};
  int repeat = 3;
  fs::path bin_dir;  // empty: the directory of this executable
  std::string other;  // empty: no other engine
};

std::int64_t parse_positive(std::string_view flag, std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0) {
    throw UsageError{fmt::format("{} expects a positive integer, got '{}'", flag, text)};
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const std::initializer_list<std::string_view> kFlags = {"--mb",      "--data-dir", "--repeat",
                                                                "--bin-dir", "--masters",  "--other"};
    if (std::find(kFlags.begin(), kFlags.end(), flag) == kFlags.end())
      throw UsageError{spate::unknown_argument(flag, kFlags)};
    if (i + 1 >= argc) throw UsageError{fmt::format("{} needs a value", flag)};
    const std::string_view value = argv[++i];
    if (flag == "--mb") o.mb = parse_positive(flag, value);
    else if (flag == "--data-dir") o.data_dir = value;
    else if (flag == "--repeat") o.repeat = static_cast<int>(parse_positive(flag, value));
    else if (flag == "--bin-dir") o.bin_dir = value;
    else if (flag == "--other") o.other = value;
    else {  // --masters
      o.masters.clear();
      for (std::size_t start = 0; start <= value.size();) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        if (comma > start) o.masters.emplace_back(value.substr(start, comma - start));
        start = comma + 1;
      }
    }
  }
  return o;
}

// The vocabulary, by rank: distinct lowercase words, short for frequent ranks as in real text.
std::vector<std::string> make_vocabulary(std::mt19937_64& rng) {
  std::vector<std::string> words;
  boost::unordered_flat_set<std::string> seen;
  words.reserve(kVocabulary);
  while (words.size() < kVocabulary) {
    const auto digits = static_cast<std::size_t>(std::log10(static_cast<double>(words.size() + 1)));
    std::string w(2 + digits + rng() % 4, 'a');
    for (char& c : w) c = static_cast<char>('a' + rng() % 26);
    if (seen.insert(w).second) words.push_back(std::move(w));
  }
  return words;
}

// Writes lines of 10-15 Zipf-distributed words separated by single spaces until `bytes` bytes.
void generate_text(const fs::path& out, std::int64_t bytes) {
  std::mt19937_64 rng(kSeed);  // fully specified by the standard, so the text is reproducible
  const std::vector<std::string> words = make_vocabulary(rng);
  std::vector<double> cdf(kVocabulary);  // P(rank <= r), unnormalised
  double total = 0;
  for (std::size_t r = 0; r < kVocabulary; ++r) {
    cdf[r] = total += std::pow(static_cast<double>(r + 1), -kZipfExponent);
  }
  std::FILE* f = std::fopen(out.c_str(), "wb");
  if (f == nullptr) {
    throw BenchError{fmt::format("cannot create {}: {}", out.string(), std::strerror(errno))};
  }
  std::string buffer;
  std::int64_t written = 0;
  while (written < bytes) {
    const auto n = 10 + rng() % 6;
    for (std::uint64_t i = 0; i < n; ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1p-53 * total;
      const auto r = std::min<std::size_t>(
          static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()),
          kVocabulary - 1);
      buffer += words[r];
      buffer += i + 1 < n ? ' ' : '\n';
    }
    if (buffer.size() >= (1 << 20) || static_cast<std::int64_t>(buffer.size()) + written >= bytes) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), f) != buffer.size()) {
        throw BenchError{fmt::format("cannot write {}: {}", out.string(), std::strerror(errno))};
      }
      written += static_cast<std::int64_t>(buffer.size());
      buffer.clear();
    }
  }
  if (std::fclose(f) != 0) throw BenchError{fmt::format("cannot write {}", out.string())};
}

// The text of o.mb MB, generated once (in a forked child, so that its tables never raise this
// process's peak RSS, which exec passes on to every child as a floor of its ru_maxrss) under a
// temporary name and renamed, so an interrupted run never leaves a short file behind.
fs::path ensure_text(const Options& o) {
  const fs::path text = o.data_dir / fmt::format("words-zipf{:.1f}-v{}-s{}-{}mb.txt",
                                                 kZipfExponent, kVocabulary, kSeed, o.mb);
  if (fs::exists(text)) return text;
  fs::create_directories(o.data_dir);
  fmt::print("generating {} MB of words into {} (once; later runs reuse it)\n", o.mb,
             text.string());
  std::fflush(stdout);
  const fs::path partial = text.string() + ".partial";
  const pid_t pid = ::fork();
  if (pid < 0) throw BenchError{fmt::format("fork failed: {}", std::strerror(errno))};
  if (pid == 0) {
    try {
      generate_text(partial, o.mb * 1'000'000);
      std::_Exit(0);
    } catch (const BenchError& e) {
      fmt::print(stderr, "spate-bench-words: {}\n", e.message);
    } catch (const std::exception& e) {
      fmt::print(stderr, "spate-bench-words: generating {}: {}\n", partial.string(), e.what());
    }
    std::_Exit(1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw BenchError{fmt::format("could not generate {}", text.string())};
  }
  fs::rename(partial, text);
  return text;
}

// Reads the whole file once so every contender finds it in the page cache, and returns its
// number of words, split on the whitespace spate-wordcount uses.
std::int64_t warm_page_cache(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BenchError{fmt::format("cannot open {}", path.string())};
  std::vector<char> buffer(1 << 20);
  std::int64_t words = 0;
  bool in_word = false;
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      const char c = buffer[static_cast<std::size_t>(i)];
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
      words += !space && !in_word;
      in_word = !space;
    }
  }
  return words;
}

// The byte offset where two files first differ, or -1 if equal. Streams both in chunks so this
// process's peak RSS (a floor of every later child's) stays small.
std::int64_t first_difference(const fs::path& a, const fs::path& b) {
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (std::int64_t offset = 0;;) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    const auto na = static_cast<std::size_t>(fa.gcount());
    const auto nb = static_cast<std::size_t>(fb.gcount());
    const auto at = std::mismatch(ba.begin(), ba.begin() + static_cast<std::ptrdiff_t>(na),
                                  bb.begin(), bb.begin() + static_cast<std::ptrdiff_t>(nb));
    const auto same = at.first - ba.begin();
    if (static_cast<std::size_t>(same) != na || na != nb) return offset + same;
    if (na == 0) return -1;
    offset += static_cast<std::int64_t>(na);
  }
}

struct Measurement {
  double wall_s = 0;
  double peak_rss_mb = 0;
};

// Runs a program to completion with stdout and stderr going to `log`; the wall time spans spawn
// to reap (start-up and exit included, as a user sees it), the peak RSS comes from wait4.
Measurement run_child(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw BenchError{fmt::format("cannot start {}: {}", args[0], std::strerror(error))};
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw BenchError{fmt::format("wait4 failed: {}", std::strerror(errno))};
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command;
    for (const auto& a : args) command += " " + a;
    throw BenchError{fmt::format("this command failed (status {:#x}):\n {}\nsee its output in {}",
                                 status, command, log.string())};
  }
  return {wall.count(), static_cast<double>(usage.ru_maxrss) / 1024.0};  // ru_maxrss is in KiB
}

// Rewrites another engine's 'word: count' lines, in any order, as the baseline's output: sorted
// by count descending, then word; false (and a message) for a line of another shape.
bool normalise_other_output(const fs::path& in, const fs::path& out) {
  std::ifstream f(in, std::ios::binary);
  std::vector<std::pair<std::string, std::int64_t>> counts;
  std::string line;
  for (std::int64_t number = 1; std::getline(f, line); ++number) {
    const std::size_t colon = line.rfind(": ");
    std::int64_t n = 0;
    std::from_chars_result parsed{line.data(), std::errc::invalid_argument};
    if (colon != std::string::npos) parsed = std::from_chars(line.data() + colon + 2, line.data() + line.size(), n);
    if (parsed.ec != std::errc{} || parsed.ptr != line.data() + line.size()) {
      fmt::print(stderr, "{}:{}: not a 'word: count' line\n", in.string(), number);
      return false;
    }
    counts.emplace_back(line.substr(0, colon), n);
  }
  std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::ofstream o(out, std::ios::binary);
  for (const auto& [w, n] : counts) o << w << '\t' << n << '\n';
  return static_cast<bool>(o.flush());
}

// One table row: the median wall time over the repeats, the largest peak RSS.
struct Row {
  std::string master;  // empty: the hand-written baseline; "other": --other
  std::vector<double> walls;
  double peak_rss_mb = 0;
  bool matches = true;  // every run's output equal to the baseline's
};

int run(Options o) {
  if (o.bin_dir.empty()) o.bin_dir = fs::read_symlink("/proc/self/exe").parent_path();
  if (o.data_dir.empty()) o.data_dir = o.bin_dir.parent_path() / "bench-data";
  const fs::path hand = o.bin_dir / "spate-handwritten-wordcount";
  const fs::path spate = o.bin_dir / "spate-wordcount";
  for (const auto& program : {hand, spate}) {
    if (::access(program.c_str(), X_OK) != 0) {
      throw BenchError{fmt::format("cannot run {}: {}; build it or point --bin-dir at it",
                                   program.string(), std::strerror(errno))};
    }
  }
  const fs::path input = ensure_text(o);
  const std::int64_t words = warm_page_cache(input);
  const double mb = static_cast<double>(fs::file_size(input)) / 1e6;
  fmt::print("input {} ({:.0f} MB, {} words, page cache warmed); {} hardware threads; "
             "{} run(s) each\n",
             input.string(), mb, words, std::thread::hardware_concurrency(), o.repeat);
  std::fflush(stdout);

  char tmp_name[] = "/tmp/spate-bench-words-XXXXXX";
  if (::mkdtemp(tmp_name) == nullptr) throw BenchError{"cannot create a directory in /tmp"};
  const fs::path tmp = tmp_name;
  const fs::path expected = tmp / "hand-0.tsv";
  std::vector<Row> rows(1 + o.masters.size());  // the baseline first
  for (std::size_t c = 1; c < rows.size(); ++c) rows[c].master = o.masters[c - 1];
  if (!o.other.empty()) rows.push_back(Row{"other"});
  // Interleaved, so that drift in machine load touches every contender alike.
  for (int r = 0; r < o.repeat; ++r) {
    for (std::size_t c = 0; c < rows.size(); ++c) {
      const fs::path out = tmp / (c == 0 ? fmt::format("hand-{}.tsv", r)
                                         : fmt::format("spate{}-{}.tsv", c, r));
      std::vector<std::string> args{hand.string(), "--input", input.string(), "--out",
                                    out.string()};
      if (rows[c].master == "other") {
        args = {o.other, input.string(), out.string() + ".raw"};
      } else if (c > 0) {
        args = {spate.string(), "--input", input.string(), "--master",
                rows[c].master, "--out", out.string()};
      }
      const Measurement m = run_child(args, tmp / "child.log");
      rows[c].walls.push_back(m.wall_s);
      rows[c].peak_rss_mb = std::max(rows[c].peak_rss_mb, m.peak_rss_mb);
      if (out == expected) continue;
      if (rows[c].master == "other") {  // its own format, checked after the timing
        if (!normalise_other_output(out.string() + ".raw", out)) rows[c].matches = false;
        fs::remove(out.string() + ".raw");
      }
      if (const std::int64_t at = first_difference(expected, out); at >= 0) {
        rows[c].matches = false;
        std::fflush(stdout);
        fmt::print(stderr, "*** OUTPUT MISMATCH: {} differs from {} at byte {}\n", out.string(),
                   expected.string(), at);
      } else {
        fs::remove(out);
      }
    }
  }

  fmt::print("\n{:<24} {:>8} {:>10} {:>8} {:>12} {:>8}  {}\n", "engine/mode", "MB/s", "words/s",
             "wall s", "peak RSS MB", "vs hand", "target");
  const double hand_wall = spate_bench::median(rows[0].walls);
  for (const auto& row : rows) {
    const double wall = spate_bench::median(row.walls), ratio = wall / hand_wall;
    std::string target = "-";
    const auto verdict = [&](double limit) {
      return fmt::format("<= {:.1f}x: {}", limit, ratio <= limit && row.matches ? "met" : "MISSED");
    };
    if (row.master == "local[1]") target = verdict(kLocal1MaxRatio);
    if (row.master == "local[2]") target = verdict(kLocal2MaxRatio);
    const std::string name = row.master.empty()         ? "hand-written"
                             : row.master == "other" ? "other (--other)"
                                                     : "spate " + row.master;
    fmt::print("{:<24} {:>8.1f} {:>9.2f}M {:>8.3f} {:>12.1f} {:>7.2f}x  {}{}\n", name, mb / wall,
               static_cast<double>(words) / wall / 1e6, wall, row.peak_rss_mb, ratio, target,
               row.matches ? "" : "   *** OUTPUT DIFFERS ***");
  }
  const auto other = std::find_if(rows.begin(), rows.end(), [](const Row& r) { return r.master == "other"; });
  const auto local2 = std::find_if(rows.begin(), rows.end(), [](const Row& r) { return r.master == "local[2]"; });
  if (other != rows.end() && local2 != rows.end()) {
    const double ratio = spate_bench::median(local2->walls) / spate_bench::median(other->walls);
    fmt::print("\nspate local[2] / other: {:.2f}x (target <= {:.1f}x: {})\n", ratio, kLocal2MaxOtherRatio,
               ratio <= kLocal2MaxOtherRatio ? "met" : "MISSED");
  }
  fmt::print("\nwall s: median of the runs (spawn to exit); peak RSS: the largest over the\n"
             "runs; vs hand: wall time over the hand-written baseline's (lower is better). The\n"
             "target is informational; the exit code reports only failures and mismatches.\n");
  if (!std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.matches; })) {
    std::fflush(stdout);
    fmt::print(stderr, "spate-bench-words: OUTPUTS DIFFER from the hand-written baseline; "
                       "kept {}\n", tmp.string());
    return 1;
  }
  fs::remove_all(tmp);
  fmt::print("all spate outputs are byte-identical to the hand-written baseline's\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& e) {
    fmt::print(stderr, "{}\n", spate::usage_hint("spate-bench-words", e.message));
    return 2;
  } catch (const BenchError& e) {
    fmt::print(stderr, "spate-bench-words: {}\n", e.message);
    return 1;
  } catch (const std::exception& e) {  // filesystem_error and the like
    fmt::print(stderr, "spate-bench-words: {}\n", e.what());
    return 1;
  }
}
