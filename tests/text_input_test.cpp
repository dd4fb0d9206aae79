// Tests of the text input layer: listing files, planning splits, and reading lines from plain,
// gzip and zstd files so that every line comes out of exactly one split.
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "spate/error.hpp"

namespace {

namespace fs = std::filesystem;
using spate::detail::Compression;
using spate::detail::InputFile;
using spate::detail::InputSplit;
using spate::detail::LineReader;

/// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("spate-text-input-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

/// A line as the reader should produce it: its start offset and its text.
using Line = std::pair<std::uint64_t, std::string>;

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  REQUIRE(out.good());
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The lines of content by the rule, computed the obvious way: split at '\n', nothing after a
/// final '\n', one trailing '\r' dropped.
std::vector<Line> reference_lines(const std::string& content) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t nl = content.find('\n', start);
    std::size_t stop = nl == std::string::npos ? content.size() : nl;
    std::string text = content.substr(start, stop - start);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    lines.emplace_back(start, text);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

/// Reads every split in order and returns all lines; checks each starts inside its split.
std::vector<Line> read_splits(const std::vector<InputSplit>& splits,
                              std::size_t buffer_bytes = LineReader::kDefaultBufferBytes) {
  std::vector<Line> lines;
  for (const InputSplit& split : splits) {
    LineReader reader(split, buffer_bytes);
    std::string_view line;
    while (reader.next(line)) {
      if (split.compression == Compression::none) {
        REQUIRE(reader.line_offset() >= split.begin);
        REQUIRE(reader.line_offset() < split.end);
      }
      lines.emplace_back(reader.line_offset(), std::string(line));
    }
    REQUIRE_FALSE(reader.next(line));  // stays at the end
  }
  return lines;
}

/// As read_splits, through next_block: each block is checked to end with '\n' and to have
/// kBlockPadding readable bytes after it (ASan sees a read past the buffer), then cut into its
/// lines. max_read as next_block takes it.
std::vector<Line> read_splits_in_blocks(const std::vector<InputSplit>& splits,
                                        std::size_t buffer_bytes, std::size_t max_read) {
  std::vector<Line> lines;
  for (const InputSplit& split : splits) {
    LineReader reader(split, buffer_bytes);
    spate::detail::LineBlock block;
    while (reader.next_block(block, max_read)) {
      REQUIRE(block.end > block.begin);
      REQUIRE(block.end[-1] == '\n');
      volatile char sink = 0;
      for (std::size_t k = 0; k < LineReader::kBlockPadding; ++k) sink = sink ^ block.end[k];
      for (char* line = block.begin; line < block.end;) {
        char* nl = static_cast<char*>(std::memchr(line, '\n', block.end - line));
        REQUIRE(nl != nullptr);
        const std::uint64_t offset = block.offset + static_cast<std::uint64_t>(line - block.begin);
        if (split.compression == Compression::none) {
          REQUIRE(offset >= split.begin);
          REQUIRE(offset < split.end);
        }
        std::size_t size = static_cast<std::size_t>(nl - line);
        if (size > 0 && line[size - 1] == '\r') --size;
        lines.emplace_back(offset, std::string(line, size));
        line = nl + 1;
      }
    }
    REQUIRE_FALSE(reader.next_block(block, max_read));  // stays at the end
  }
  return lines;
}

std::vector<Line> read_file_lines(const std::string& path, std::uint64_t split_bytes,
                                  std::size_t buffer_bytes = LineReader::kDefaultBufferBytes) {
  return read_splits(spate::detail::plan_splits(spate::detail::list_input_files(path), split_bytes),
                     buffer_bytes);
}

/// Random text with empty lines, long lines, stray '\r', LF and CRLF endings, and optionally
/// no final newline.
std::string random_text(std::mt19937_64& rng, int lines, std::size_t long_line) {
  std::string text;
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<int> letter('a', 'z');
  for (int i = 0; i < lines; ++i) {
    int k = kind(rng);
    std::size_t len = k < 25 ? 0 : k < 75 ? rng() % 20 : k < 95 ? rng() % 200 : long_line;
    for (std::size_t j = 0; j < len; ++j) {
      text += rng() % 50 == 0 ? '\r' : static_cast<char>(letter(rng));
    }
    text += rng() % 3 == 0 ? "\r\n" : "\n";
  }
  switch (rng() % 4) {
    case 0:  // no final newline
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      text += "tail";
      break;
    case 1:  // a last line ending in '\r' and no '\n'
      text += "last\r";
      break;
    default:
      break;
  }
  return text;
}

std::string gzip_bytes(const std::string& content, const TempDir& dir) {
  std::string path = dir.file("scratch.gz");
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  if (!content.empty()) {
    REQUIRE(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())) ==
            static_cast<int>(content.size()));
  }
  REQUIRE(gzclose(gz) == Z_OK);
  std::string bytes = read_bytes(path);
  fs::remove(path);
  return bytes;
}

std::string zstd_bytes(const std::string& content) {
  std::string out(ZSTD_compressBound(content.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

/// The compressed file of content in `parts` members or frames, concatenated.
std::string compressed_bytes(Compression compression, const std::string& content, int parts,
                             const TempDir& dir) {
  std::string bytes;
  std::size_t step = content.size() / static_cast<std::size_t>(parts) + 1;
  for (int i = 0; i < parts; ++i) {
    std::size_t from = std::min(content.size(), step * static_cast<std::size_t>(i));
    std::string piece = content.substr(from, step);
    bytes += compression == Compression::gzip ? gzip_bytes(piece, dir) : zstd_bytes(piece);
  }
  return bytes;
}

template <typename F>
std::string io_error_message(F&& f) {
  try {
    f();
  } catch (const spate::io_error& e) {
    return e.what();
  }
  FAIL("expected spate::io_error");
  return {};
}

}  // namespace

TEST_CASE("every line of a random plain file comes out of exactly one split, for any split size",
          "[io][line_reader]") {
  TempDir dir;
  // Tiny buffers exercise compaction and growth (and cost a read call every few bytes).
  const std::size_t buffers[] = {7, 16, 100, 1000, LineReader::kDefaultBufferBytes};
  for (int seed = 0; seed < 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::string content = random_text(rng, 5 + seed, 300 + seed * 20);
    std::string path = dir.file("f" + std::to_string(seed) + ".txt");
    write_file(path, content);
    std::vector<Line> expected = reference_lines(content);
    std::vector<std::uint64_t> sizes = {1, 2, 3, 5, 7, 13, 64, 100, 257, 999, 4096, 1 << 20};
    sizes.push_back(std::max<std::size_t>(content.size(), 2) - 1);
    sizes.push_back(content.size() + 1);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      INFO("seed " << seed << ", split size " << sizes[i]);
      std::size_t buffer = seed < 2 ? 1 : buffers[(seed + i) % 5];
      CHECK(read_file_lines(path, sizes[i], buffer) == expected);
      auto splits =
          spate::detail::plan_splits(spate::detail::list_input_files(path), sizes[i]);
      CHECK(read_splits_in_blocks(splits, buffer, (seed + i) % 3 == 0 ? 0 : 1 + i * 7) ==
            expected);
    }
  }
}

TEST_CASE("a split starting exactly at a line start keeps that line", "[io][line_reader]") {
  TempDir dir;
  std::string path = dir.file("a.txt");
  write_file(path, "ab\ncd\nef\n");
  auto lines_of = [&](std::uint64_t begin, std::uint64_t end) {
    std::vector<std::string> out;
    LineReader reader(InputSplit{path, begin, end, Compression::none, 9});
    std::string_view line;
    while (reader.next(line)) out.emplace_back(line);
    return out;
  };
  CHECK(lines_of(0, 3) == std::vector<std::string>{"ab"});
  CHECK(lines_of(3, 6) == std::vector<std::string>{"cd"});
  CHECK(lines_of(0, 4) == std::vector<std::string>{"ab", "cd"});
  CHECK(lines_of(4, 9) == std::vector<std::string>{"ef"});
  CHECK(lines_of(2, 3) == std::vector<std::string>{});  // the '\n' of "ab" alone
  CHECK(lines_of(6, 7) == std::vector<std::string>{"ef"});
  CHECK(lines_of(7, 9) == std::vector<std::string>{});
}

TEST_CASE("a carriage return is dropped only right before the newline or the end of the file",
          "[io][line_reader]") {
  TempDir dir;
  auto lines_of = [&](const std::string& content) {
    std::string path = dir.file("cr.txt");
    write_file(path, content);
    std::vector<std::string> out;
    for (const Line& line : read_file_lines(path, 1 << 20)) out.push_back(line.second);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(lines_of("a\r\nb\r") == V{"a", "b"});
  CHECK(lines_of("a\rb\n") == V{"a\rb"});
  CHECK(lines_of("a\r\r\n") == V{"a\r"});
  CHECK(lines_of("\r\n\n") == V{"", ""});
  CHECK(lines_of("\r") == V{""});
  CHECK(lines_of("\n") == V{""});
  CHECK(lines_of("abc") == V{"abc"});
  CHECK(lines_of("abc\n") == V{"abc"});
}

TEST_CASE("lines much longer than the buffer and the split are read whole, once",
          "[io][line_reader]") {
  TempDir dir;
  std::string path = dir.file("long.txt");
  std::string big(3 << 20, 'x');
  big[12345] = '\r';  // data, not a terminator
  std::string content = "first\n" + big + "\r\nmiddle\n" + big + big + "\nlast";
  write_file(path, content);
  std::vector<Line> expected = reference_lines(content);
  CHECK(read_file_lines(path, 1 << 20) == expected);
  CHECK(read_file_lines(path, 700000, 4096) == expected);
  CHECK(read_file_lines(path, 64 << 20) == expected);
}

TEST_CASE("an empty file has no split and no line", "[io][input_split][line_reader]") {
  TempDir dir;
  std::string path = dir.file("empty.txt");
  write_file(path, "");
  auto files = spate::detail::list_input_files(path);
  REQUIRE(files.size() == 1);
  CHECK(files[0].size == 0);
  CHECK(spate::detail::plan_splits(files, 10).empty());
  LineReader reader(InputSplit{path, 0, 0, Compression::none, 0});
  std::string_view line;
  CHECK_FALSE(reader.next(line));
}

TEST_CASE("input is cut into at least one split per task and, past one round, a multiple of them",
          "[io][input_split]") {
  using spate::detail::kDefaultSplitBytes;
  using spate::detail::split_target;
  auto splits = [](std::uint64_t total, std::uint64_t parallelism) {
    const std::uint64_t target = split_target(total, parallelism);
    CHECK(target <= kDefaultSplitBytes);
    return (total + target - 1) / target;
  };
  CHECK(splits(100, 4) == 4);                       // small input: one split per task
  CHECK(splits(3 * kDefaultSplitBytes - 5, 1) == 3);  // one core: just the size limit
  CHECK(splits(3 * kDefaultSplitBytes - 5, 2) == 4);  // not three: the third would run alone
  CHECK(splits(3 * kDefaultSplitBytes - 5, 3) == 3);
  CHECK(splits(9 * kDefaultSplitBytes, 4) == 12);
  CHECK(splits(8 * kDefaultSplitBytes, 4) == 8);
  CHECK(splits(1, 0) == 1);
}

TEST_CASE("splits cover each plain file in equal ranges of at most the target size",
          "[io][input_split]") {
  std::vector<InputFile> files = {{"a", 10, Compression::none},
                                  {"b", 0, Compression::none},
                                  {"c.gz", 1000, Compression::gzip},
                                  {"d", 7, Compression::none}};
  auto splits = spate::detail::plan_splits(files, 4);
  std::vector<InputSplit> expected = {
      {"a", 0, 3, Compression::none, 10},  {"a", 3, 6, Compression::none, 10},
      {"a", 6, 10, Compression::none, 10}, {"c.gz", 0, 1000, Compression::gzip, 1000},
      {"d", 0, 3, Compression::none, 7},   {"d", 3, 7, Compression::none, 7}};
  CHECK(splits == expected);
  CHECK(spate::detail::plan_splits(files, 4) == splits);  // deterministic
  CHECK(spate::detail::plan_splits(files, 1000).size() == 3);
  CHECK(spate::detail::plan_splits(files, 1).size() == 10 + 1 + 7);
  CHECK_THROWS_AS(spate::detail::plan_splits(files, 0), spate::config_error);
  // Huge files do not overflow the boundary arithmetic.
  auto huge = spate::detail::plan_splits({{"h", ~0ull, Compression::none}}, 1ull << 62);
  REQUIRE(huge.size() == 4);
  CHECK(huge.back().end == ~0ull);
}

TEST_CASE("many small files in a directory read as their lines in path order",
          "[io][input_files][line_reader]") {
  TempDir dir;
  std::vector<Line> expected_text;
  std::vector<std::string> expected_lines;
  for (int i = 0; i < 200; ++i) {
    std::string content;
    for (int j = 0; j < i % 4; ++j)
      content += "f" + std::to_string(i) + "l" + std::to_string(j) + "\n";
    char name[32];
    std::snprintf(name, sizeof name, "part-%05d", i);
    write_file(dir.file(name), content);
    for (const Line& line : reference_lines(content)) expected_lines.push_back(line.second);
  }
  auto files = spate::detail::list_input_files(dir.str());
  REQUIRE(files.size() == 200);
  CHECK(std::is_sorted(files.begin(), files.end(),
                       [](const InputFile& a, const InputFile& b) { return a.path < b.path; }));
  std::vector<std::string> got;
  for (const Line& line : read_splits(spate::detail::plan_splits(files, 5))) {
    got.push_back(line.second);
  }
  CHECK(got == expected_lines);
}

TEST_CASE("a directory lists its visible regular files, sorted, with their compression",
          "[io][input_files]") {
  TempDir dir;
  write_file(dir.file("b.txt"), "bb\n");
  write_file(dir.file("a.gz"), "x");
  write_file(dir.file("c.zst"), "xyz");
  write_file(dir.file("_SUCCESS"), "");
  write_file(dir.file(".a.txt.crc"), "x");
  fs::create_directory(dir.file("sub"));
  write_file(dir.file("sub/d.txt"), "d\n");
  // Each file comes with its modification time, for readers to see whether it changed.
  auto without_mtime = [](std::vector<InputFile> files) {
    for (InputFile& f : files) {
      CHECK(f.mtime_ns.has_value());
      f.mtime_ns.reset();
    }
    return files;
  };
  auto files = without_mtime(spate::detail::list_input_files(dir.str()));
  std::vector<InputFile> expected = {{dir.file("a.gz"), 1, Compression::gzip},
                                     {dir.file("b.txt"), 3, Compression::none},
                                     {dir.file("c.zst"), 3, Compression::zstd}};
  CHECK(files == expected);
  CHECK(without_mtime(spate::detail::list_input_files(dir.file("b.txt"))) ==
        std::vector<InputFile>{expected[1]});
  // An explicitly named hidden file is read: only listings skip them.
  CHECK(spate::detail::list_input_files(dir.file("_SUCCESS")).size() == 1);
}

TEST_CASE("a glob pattern lists its matches, expanding matched directories", "[io][input_files]") {
  TempDir dir;
  write_file(dir.file("x1.txt"), "1\n");
  write_file(dir.file("x2.txt"), "22\n");
  write_file(dir.file("y.txt"), "333\n");
  write_file(dir.file("_x3.txt"), "hidden\n");
  fs::create_directory(dir.file("xdir"));
  write_file(dir.file("xdir/in.txt"), "4444\n");
  auto paths = [](const std::vector<InputFile>& files) {
    std::vector<std::string> out;
    for (const InputFile& f : files) out.push_back(f.path);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(paths(spate::detail::list_input_files(dir.file("x*.txt"))) ==
        V{dir.file("x1.txt"), dir.file("x2.txt")});
  CHECK(paths(spate::detail::list_input_files(dir.file("x*"))) ==
        V{dir.file("x1.txt"), dir.file("x2.txt"), dir.file("xdir/in.txt")});
  CHECK(paths(spate::detail::list_input_files(dir.file("{y,x2}.txt"))) ==
        V{dir.file("x2.txt"), dir.file("y.txt")});
  CHECK(paths(spate::detail::list_input_files(dir.file("?[12].txt"))) ==
        V{dir.file("x1.txt"), dir.file("x2.txt")});
}

TEST_CASE("listing fails with a message naming the path when there is nothing to read",
          "[io][input_files]") {
  TempDir dir;
  std::string missing = dir.file("missing.txt");
  CHECK_THAT(io_error_message([&] { spate::detail::list_input_files(missing); }),
             Catch::Contains(missing));
  std::string pattern = dir.file("*.nothing");
  CHECK_THAT(io_error_message([&] { spate::detail::list_input_files(pattern); }),
             Catch::Contains(pattern));
  fs::create_directory(dir.file("empty"));
  CHECK_THAT(io_error_message([&] { spate::detail::list_input_files(dir.file("empty")); }),
             Catch::Contains(dir.file("empty")));
  fs::create_directory(dir.file("meta"));
  write_file(dir.file("meta/_SUCCESS"), "");
  CHECK_THROWS_AS(spate::detail::list_input_files(dir.file("meta")), spate::io_error);
  CHECK_THROWS_AS(spate::detail::list_input_files(""), spate::io_error);
  if (::geteuid() != 0) {  // root reads anything
    write_file(dir.file("secret.txt"), "s\n");
    fs::permissions(dir.file("secret.txt"), fs::perms::none);
    CHECK_THAT(io_error_message([&] { spate::detail::list_input_files(dir.str()); }),
               Catch::Contains("secret.txt"));
  }
}

TEST_CASE("gzip and zstd files, in one or several members, give the same lines as plain",
          "[io][line_reader][compression]") {
  TempDir dir;
  for (int seed = 0; seed < 6; ++seed) {
    std::mt19937_64 rng(100 + seed);
    // Seed 5 is big enough to cross several compressed chunks and buffer refills.
    std::string content = random_text(rng, seed == 5 ? 40000 : 50 + seed * 30, 2000);
    std::vector<Line> expected = reference_lines(content);
    for (Compression c : {Compression::gzip, Compression::zstd}) {
      for (int parts : {1, 3}) {
        std::string path =
            dir.file("f" + std::to_string(seed) + (c == Compression::gzip ? ".gz" : ".zst"));
        write_file(path, compressed_bytes(c, content, parts, dir));
        INFO("seed " << seed << " " << spate::detail::compression_name(c) << " parts " << parts);
        auto splits = spate::detail::plan_splits(spate::detail::list_input_files(path), 7);
        REQUIRE(splits.size() == 1);
        CHECK(splits[0].compression == c);
        CHECK(read_splits(splits, seed % 2 == 0 ? 64 : LineReader::kDefaultBufferBytes) ==
              expected);
        CHECK(read_splits_in_blocks(splits, seed % 2 == 0 ? 64 : LineReader::kDefaultBufferBytes,
                                    seed % 3 == 0 ? 0 : 1000) == expected);
      }
    }
  }
}

TEST_CASE("an empty gzip or zstd stream has no lines", "[io][line_reader][compression]") {
  TempDir dir;
  write_file(dir.file("e.gz"), gzip_bytes("", dir));
  write_file(dir.file("e.zst"), zstd_bytes(""));
  CHECK(read_file_lines(dir.file("e.gz"), 10).empty());
  CHECK(read_file_lines(dir.file("e.zst"), 10).empty());
}

TEST_CASE("a truncated or corrupt compressed file throws io_error naming path and offset",
          "[io][line_reader][compression]") {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::string content = random_text(rng, 3000, 100);
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    std::string whole = compressed_bytes(c, content, 2, dir);
    std::string path = dir.file(c == Compression::gzip ? "t.gz" : "t.zst");
    for (std::size_t cut : {std::size_t{1}, std::size_t{5}, whole.size() / 3, whole.size() / 2,
                            whole.size() - 5, whole.size() - 1}) {
      INFO(spate::detail::compression_name(c) << " cut at " << cut);
      write_file(path, whole.substr(0, cut));
      std::string message = io_error_message([&] { read_file_lines(path, 1 << 20); });
      CHECK_THAT(message, Catch::Contains(path) && Catch::Contains("offset"));
    }
    // Garbage after the last member or frame is corruption, not the end of the data.
    write_file(path, whole + "garbage!");
    CHECK_THAT(io_error_message([&] { read_file_lines(path, 1 << 20); }),
               Catch::Contains(path) && Catch::Contains("offset"));
  }
  // A damaged gzip body fails its checksum at the latest.
  std::string gz = gzip_bytes(content, dir);
  for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 16; ++i)
    gz[i] = static_cast<char>(~gz[i]);
  write_file(dir.file("bad.gz"), gz);
  CHECK_THROWS_AS(read_file_lines(dir.file("bad.gz"), 1 << 20), spate::io_error);
}

TEST_CASE("a file that shrank or grew after planning throws io_error", "[io][line_reader]") {
  TempDir dir;
  std::string path = dir.file("shrink.txt");
  write_file(path, std::string(1000, 'a') + "\n");
  auto splits = spate::detail::plan_splits(spate::detail::list_input_files(path), 300);
  fs::resize_file(path, 500);
  for (const InputSplit& split : splits) {
    CHECK_THAT(io_error_message([&] { read_splits({split}); }), Catch::Contains(path));
  }
  std::string gz_path = dir.file("shrink.gz");
  write_file(gz_path, gzip_bytes(std::string(100000, 'b'), dir));
  auto gz_splits = spate::detail::plan_splits(spate::detail::list_input_files(gz_path), 300);
  fs::resize_file(gz_path, 10);
  CHECK_THROWS_AS(read_splits(gz_splits), spate::io_error);
  // A file that grew changed too: its new size and modification time differ from the planned.
  std::string grow = dir.file("grow.txt");
  write_file(grow, "a\nb\n");
  auto grow_splits = spate::detail::plan_splits(spate::detail::list_input_files(grow), 3);
  write_file(grow, "a\nb\nc\n");
  CHECK_THAT(io_error_message([&] { read_splits(grow_splits); }),
             Catch::Contains(grow) && Catch::Contains("changed since the job was planned"));
  // A split made without a planned mtime only checks that the file is not shorter.
  InputSplit by_hand{grow, 0, 4, Compression::none, 4};
  CHECK(read_splits({by_hand}) == std::vector<Line>{{0, "a"}, {2, "b"}});
}

TEST_CASE("line_number_at gives the 1-based line of an offset in plain and compressed files",
          "[io][line_reader]") {
  TempDir dir;
  std::mt19937_64 rng(42);
  std::string content = random_text(rng, 300, 5000);
  std::vector<Line> lines = reference_lines(content);
  write_file(dir.file("n.txt"), content);
  write_file(dir.file("n.gz"), compressed_bytes(Compression::gzip, content, 2, dir));
  write_file(dir.file("n.zst"), compressed_bytes(Compression::zstd, content, 2, dir));
  for (const std::string name : {"n.txt", "n.gz", "n.zst"}) {
    auto splits =
        spate::detail::plan_splits(spate::detail::list_input_files(dir.file(name)), 1 << 20);
    REQUIRE(splits.size() == 1);
    for (std::size_t i = 0; i < lines.size(); i += 37) {
      CHECK(spate::detail::line_number_at(splits[0], lines[i].first) == i + 1);
    }
    CHECK(spate::detail::line_number_at(splits[0], lines.back().first) == lines.size());
    CHECK(spate::detail::line_number_at(splits[0], 0) == 1);
    CHECK_THROWS_AS(spate::detail::line_number_at(splits[0], content.size() + 1), spate::io_error);
  }
  auto files = spate::detail::list_input_files(dir.file("n.txt"));
  CHECK(spate::detail::line_number_at(files[0], lines[5].first) == 6);
}
