// spate-bench-outputs: handing a dataset from one job to the next. Writes N (word, number) pairs
// as text, gzip text and object files, then reads each back into pairs, under local[2]; prints
// the rows/s of each write and read (median of R runs) and the bytes on disk.
//
//   spate-bench-outputs [--rows N] [--repeat R] [--dir DIR]
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <spate/command_line.hpp>
#include <spate/spate.hpp>
#include <spate/text_escape.hpp>

#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;
using Pair = std::pair<std::string, std::int64_t>;
constexpr std::size_t kPartitions = 8;

// Makes a partition's pairs inside its task: words of 4 to 19 letters, numbers of any size.
struct Generate {
  std::uint64_t per_partition;
  template <class Emit>
  void operator()(std::uint64_t partition, Emit& emit) const {
    std::uint64_t x = partition * 0x9e3779b97f4a7c15ULL + 1;
    for (std::uint64_t i = 0; i < per_partition; ++i) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      emit(Pair(std::string(4 + x % 16, static_cast<char>('a' + (x >> 8) % 26)), static_cast<std::int64_t>(x >> 3)));
    }
  }
};

Pair parse_pair(std::string_view line) {
  auto f = spate::split_text_fields(line);
  return Pair(std::move(f.at(0)), std::stoll(f.at(1)));
}

std::uint64_t bytes_in(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? e.file_size() : 0;
  return n;
}

}  // namespace

constexpr std::string_view kUsage =
    "usage: spate-bench-outputs [--rows N] [--repeat R] [--dir DIR]\n"
    "  --rows N    (word, number) pairs written and read (default 4000000)\n"
    "  --repeat R  runs of each; the table shows the median (default 3)\n"
    "  --dir DIR   where the outputs go, removed after each run (default the temp directory)\n";

int main(int argc, char** argv) {
  spate::serve_if_executor();
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    std::uint64_t rows = 4'000'000;
    int repeat = 3;
    fs::path dir = fs::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--rows" && i + 1 < argc) {
        rows = spate_bench::whole_number(a, argv[++i]);
      } else if (a == "--repeat" && i + 1 < argc) {
        repeat = static_cast<int>(spate_bench::whole_number(a, argv[++i]));
      } else if (a == "--dir" && i + 1 < argc) {
        dir = argv[++i];
      } else {
        throw spate_bench::UsageError{spate::unknown_argument(a, {"--rows", "--repeat", "--dir"})};
      }
    }
    spate::Options options;
    options.master = "local[2]";
    options.progress = false;
    options.ui = false;
    spate::Context ctx(options);
    std::vector<std::uint64_t> seeds(kPartitions);
    for (std::size_t p = 0; p < kPartitions; ++p) seeds[p] = p;
    const std::uint64_t per = rows / kPartitions;
    rows = per * kPartitions;
    auto input = ctx.parallelize(seeds, kPartitions).flat_map<Pair>(Generate{per});
    const fs::path out = dir / fmt::format("spate-bench-outputs-{}", ::getpid());

    struct Format {
      std::string name;
      std::function<void(const std::string&)> write;
      std::function<std::uint64_t(const std::string&)> read;
    };
    const std::vector<Format> formats = {
        {"text", [&](const std::string& d) { input.save_as_text_file(d); },
         [&](const std::string& d) { return ctx.text_file(d).map(parse_pair).count(); }},
        {"text, gzip level 1",
         [&](const std::string& d) {
           input.save_as_text_file(d, spate::TextOutputOptions{.compression = spate::Compression::gzip, .level = 1});
         },
         [&](const std::string& d) { return ctx.text_file(d).map(parse_pair).count(); }},
        {"text, zstd", [&](const std::string& d) { input.save_as_text_file(d, spate::TextOutputOptions{.compression = spate::Compression::zstd}); },
         [&](const std::string& d) { return ctx.text_file(d).map(parse_pair).count(); }},
        {"object file", [&](const std::string& d) { input.save_as_object_file(d); },
         [&](const std::string& d) { return ctx.object_file<Pair>(d).count(); }},
    };
    fmt::print("{} pairs, {} partitions, local[2]; rows/s, median of {}\n", rows, kPartitions, repeat);
    fmt::print("{:<22} {:>14} {:>14} {:>12}\n", "format", "write rows/s", "read rows/s", "MiB on disk");
    for (const auto& f : formats) {
      std::vector<double> writes, reads;
      std::uint64_t bytes = 0;
      for (int r = 0; r < repeat; ++r) {
        fs::remove_all(out);
        auto t0 = std::chrono::steady_clock::now();
        f.write(out.string());
        auto t1 = std::chrono::steady_clock::now();
        std::uint64_t n = f.read(out.string());
        auto t2 = std::chrono::steady_clock::now();
        if (n != rows) throw std::runtime_error(fmt::format("{} read {} rows back, not {}", f.name, n, rows));
        bytes = bytes_in(out);
        writes.push_back(static_cast<double>(rows) / std::chrono::duration<double>(t1 - t0).count());
        reads.push_back(static_cast<double>(rows) / std::chrono::duration<double>(t2 - t1).count());
      }
      fs::remove_all(out);
      fmt::print("{:<22} {:>14.0f} {:>14.0f} {:>12.1f}\n", f.name, spate_bench::median(writes),
                 spate_bench::median(reads), static_cast<double>(bytes) / (1 << 20));
      std::fflush(stdout);
    }
    return 0;
  } catch (const spate_bench::UsageError& e) {
    fmt::print(stderr, "{}\n", spate::usage_hint("spate-bench-outputs", e.message));
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "spate-bench-outputs: {}\n", e.what());
    return 1;
  }
}
