// Tests of save_as_text_file's handler (detail/text_output.hpp): compressed parts named .gz and
// .zst that text_file reads back equal, and the refusal of a formatted line holding a newline.
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
namespace fs = std::filesystem;

/// The names in dir, sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return sorted(names);
}

/// The decompressed content of a gzip file, read with zlib's own reader.
std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  REQUIRE(n == 0);
  gzclose(f);
  return out;
}

/// The decompressed content of a zstd file, read with libzstd's streaming decoder.
std::string unzstd(const std::string& path) {
  std::string in = read_file(path), out;
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  std::size_t rc = 1;
  while (ib.pos < ib.size) {
    ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
    rc = ZSTD_decompressStream(d, &ob, &ib);
    REQUIRE(!ZSTD_isError(rc));
    out.append(buf.data(), ob.pos);
  }
  ZSTD_freeDCtx(d);
  REQUIRE(rc == 0);  // the frame is complete
  return out;
}

/// Lines of numbers long enough that a part spans several of the compressor's input buffers.
std::vector<std::string> numbered_lines(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back("line " + std::to_string(i * 7919 % 100003) + " of the output");
  return v;
}

}  // namespace

TEST_CASE("save_as_text_file with gzip or zstd writes compressed parts that text_file reads back equal") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  struct Case {
    spate::Compression compression;
    std::string suffix;
  };
  for (const auto& c : {Case{spate::Compression::gzip, ".gz"}, Case{spate::Compression::zstd, ".zst"}})
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{40000}}) {
      CAPTURE(c.suffix, n);
      TempDir tmp;
      std::string dir = tmp.file("out");
      auto lines = numbered_lines(n);
      ctx.parallelize(lines, 3).save_as_text_file(dir, spate::TextOutputOptions{.compression = c.compression});
      REQUIRE(same(entries(dir), std::vector<std::string>{"_SUCCESS", "part-00000" + c.suffix,
                                                          "part-00001" + c.suffix, "part-00002" + c.suffix}));
      std::string whole;
      for (int p = 0; p < 3; ++p) {
        std::string path = dir + "/part-0000" + std::to_string(p) + c.suffix;
        whole += c.compression == spate::Compression::gzip ? gunzip(path) : unzstd(path);
      }
      REQUIRE(same(lines_of(whole), lines));
      auto back = ctx.text_file(dir).map([](std::string_view l) { return std::string(l); }).collect();
      REQUIRE(same(back, lines));
      if (n == 40000) REQUIRE(fs::file_size(dir + "/part-00000" + c.suffix) < whole.size() / 6);
    }
}

TEST_CASE("save_as_text_file compresses with a format function and a level too") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::vector<std::pair<std::string, int>> v{{"a\tb", 1}, {"c", 2}};
  ctx.parallelize(v, 2).save_as_text_file(
      tmp.file("fmt"), [](const std::pair<std::string, int>& r) { return r.first + "=" + std::to_string(r.second); },
      spate::TextOutputOptions{.compression = spate::Compression::zstd, .level = 19});
  REQUIRE(same(ctx.text_file(tmp.file("fmt")).map([](std::string_view l) { return std::string(l); }).collect(),
               std::vector<std::string>{"a\tb=1", "c=2"}));
  ctx.parallelize(v, 1).save_as_text_file(tmp.file("level"), spate::TextOutputOptions{.compression = spate::Compression::gzip, .level = 1});
  REQUIRE(same(lines_of(gunzip(tmp.file("level/part-00000.gz"))), std::vector<std::string>{"a\\tb\t1", "c\t2"}));
}

TEST_CASE("save_as_text_file refuses a compression level out of range before running a task") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto ds = ctx.parallelize(std::vector<int>{1, 2}, 2);
  REQUIRE_THROWS_AS(ds.save_as_text_file(tmp.file("a"), spate::TextOutputOptions{.compression = spate::Compression::gzip, .level = 10}),
                    spate::config_error);
  REQUIRE_THROWS_AS(ds.save_as_text_file(tmp.file("b"), spate::TextOutputOptions{.compression = spate::Compression::zstd, .level = 99}),
                    spate::config_error);
  REQUIRE(!fs::exists(tmp.file("a")));
}

TEST_CASE("a compressed output clears the compressed parts an unfinished job left") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("out");
  fs::create_directories(dir);
  write_file(dir + "/part-00007.gz", "left by a job that died");
  write_file(dir + "/part-00003.zst", "left too");
  ctx.parallelize(std::vector<int>{1, 2, 3}, 1).save_as_text_file(dir, spate::TextOutputOptions{.compression = spate::Compression::gzip});
  REQUIRE(same(entries(dir), std::vector<std::string>{"_SUCCESS", "part-00000.gz"}));
}

TEST_CASE("save_as_text_file fails when a format function returns a line holding a newline, naming where") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("out");
  std::vector<int> v{1, 2, 3, 4, 5, 6};
  auto ds = ctx.parallelize(v, 2);  // partition 1 holds 4, 5, 6
  REQUIRE_THROWS_WITH(ds.save_as_text_file(dir, [](const int& x) { return x == 5 ? std::string("five\nlines") : std::to_string(x); }),
                      Catch::Contains(dir) && Catch::Contains("record 1 (counted from 0) of partition 1") &&
                          Catch::Contains("newline"));
  REQUIRE(!fs::exists(dir + "/_SUCCESS"));
  // A carriage return is data: it is written as it is.
  ds.save_as_text_file(tmp.file("cr"), [](const int& x) { return "a\rb" + std::to_string(x); });
  REQUIRE(lines_of(read_file(tmp.file("cr/part-00000")))[0] == "a\rb1");
}
