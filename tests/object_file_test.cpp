// Tests of save_as_object_file and Context::object_file (detail/object_file_format.hpp): records
// of every kind read back equal to what was written, in order, however the files are split;
// another record type, a damaged block and a file cut short are refused, naming file and byte.
#include <boost/core/demangle.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
namespace fs = std::filesystem;

// A user record that goes through Boost.Serialization.
struct Reading {
  std::string sensor;
  std::int64_t at = 0;
  double value = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & sensor & at & value;
  }
  friend bool operator==(const Reading&, const Reading&) = default;
  friend bool operator<(const Reading& a, const Reading& b) { return a.at < b.at; }
};

/// The names in dir, sorted.
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return sorted(names);
}

/// Where the first block of an object file of records of type T starts: after the magic,
/// version, name length, the name and the header's checksum.
template <class T>
std::uint64_t first_block_offset() {
  return 8 + 4 + 4 + std::string_view(typeid(T).name()).size() + 8;
}

/// Writes `records` as object files in `parts` partitions and reads them back with
/// `min_partitions`; checks the records come back equal, in order.
template <class T>
void round_trip(const spate::Context& ctx, const std::vector<T>& records, std::size_t parts,
                std::size_t min_partitions, const std::string& dir) {
  ctx.parallelize(records, parts).save_as_object_file(dir);
  REQUIRE(fs::exists(dir + "/_SUCCESS"));
  auto ds = ctx.template object_file<T>(dir, min_partitions);
  REQUIRE(ds.num_partitions() >= std::min<std::size_t>(min_partitions, 1));
  REQUIRE(same(ds.collect(), records));
}

}  // namespace

TEST_CASE("object files read back the ints, strings, pairs, tuples and structs written, in order") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  int run = 0;
  for (auto seed : seeds(ctx))
    for (auto n : kSizes)
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto ints = random_ints(seed, n, -1000000, 1000000);
        round_trip(ctx, ints, parts, 0, tmp.file("ints" + std::to_string(run)));
        auto words = random_words(seed, n);
        round_trip(ctx, words, parts, 3, tmp.file("words" + std::to_string(run)));
        std::vector<std::pair<std::string, std::int64_t>> pairs;
        std::vector<std::tuple<int, std::optional<std::string>, double>> tuples;
        std::vector<Reading> readings;
        for (std::size_t i = 0; i < n; ++i) {
          pairs.emplace_back(words[i], std::int64_t{ints[i]} << 20);
          tuples.emplace_back(ints[i], i % 3 ? std::optional(words[i]) : std::nullopt, ints[i] / 7.0);
          readings.push_back(Reading{words[i], static_cast<std::int64_t>(i), ints[i] * 0.5});
        }
        round_trip(ctx, pairs, parts, 2, tmp.file("pairs" + std::to_string(run)));
        round_trip(ctx, tuples, parts, 1, tmp.file("tuples" + std::to_string(run)));
        round_trip(ctx, readings, parts, 5, tmp.file("readings" + std::to_string(run)));
        ++run;
      }
}

TEST_CASE("object files of empty partitions and of many partitions read back") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  ctx.parallelize(std::vector<int>{}, 5).save_as_object_file(tmp.file("empty"));
  REQUIRE(entries(tmp.file("empty")).size() == 6);
  REQUIRE(ctx.object_file<int>(tmp.file("empty")).count() == 0);

  auto ints = random_ints(9, 500, 0, 1 << 30);
  round_trip(ctx, ints, 64, 0, tmp.file("many"));
  REQUIRE(entries(tmp.file("many")).size() == 65);
  // A glob of some of the parts reads those parts.
  auto some = ctx.object_file<int>(tmp.file("many") + "/part-0000[0-1]").collect();
  REQUIRE(same(some, std::vector<int>(ints.begin(), ints.begin() + 2 * 500 / 64)));
}

TEST_CASE("object_file reads a dataset of views back as their owning type") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  write_file(tmp.file("in.txt"), "alpha\n\nbeta gamma\n");
  ctx.text_file(tmp.file("in.txt"), 2).save_as_object_file(tmp.file("out"));
  REQUIRE(same(ctx.object_file<std::string>(tmp.file("out")).collect(),
               std::vector<std::string>{"alpha", "", "beta gamma"}));
}

TEST_CASE("min_partitions splits a large object file into many partitions, each block read once") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  // About 6 MiB in one part: six blocks or so.
  std::vector<std::string> big;
  for (int i = 0; i < 20000; ++i) big.push_back(std::to_string(i) + std::string(300, static_cast<char>('a' + i % 26)));
  std::string dir = tmp.file("big");
  ctx.parallelize(big, 1).save_as_object_file(dir);
  for (std::size_t min_partitions : {std::size_t{1}, std::size_t{4}, std::size_t{16}, std::size_t{100}}) {
    CAPTURE(min_partitions);
    auto ds = ctx.object_file<std::string>(dir, min_partitions);
    REQUIRE(ds.num_partitions() >= min_partitions);
    auto parts = partitions_of(ds);
    std::size_t nonempty = 0;
    std::vector<std::string> all;
    for (auto& p : parts) {
      nonempty += !p.empty();
      all.insert(all.end(), p.begin(), p.end());
    }
    REQUIRE(same(all, big));
    if (min_partitions >= 4) REQUIRE(nonempty >= 4);
  }
}

TEST_CASE("object_file refuses files of another record type, naming both types") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  ctx.parallelize(std::vector<int>{1, 2, 3}, 2).save_as_object_file(tmp.file("ints"));
  REQUIRE_THROWS_WITH(ctx.object_file<std::string>(tmp.file("ints")),
                      Catch::Contains("part-00000") && Catch::Contains("holds records of type int") &&
                          Catch::Contains(boost::core::demangle(typeid(std::string).name())));
  REQUIRE_THROWS_AS(ctx.object_file<std::int64_t>(tmp.file("ints")), spate::io_error);
}

TEST_CASE("object_file refuses a file that is not an object file, naming it") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  write_file(tmp.file("text.txt"), "just some text, long enough to hold a header\n");
  REQUIRE_THROWS_WITH(ctx.object_file<int>(tmp.file("text.txt")),
                      Catch::Contains("text.txt") && Catch::Contains("is not a spate object file"));
  write_file(tmp.file("empty"), "");
  REQUIRE_THROWS_WITH(ctx.object_file<int>(tmp.file("empty")), Catch::Contains("is empty"));
  REQUIRE_THROWS_AS(ctx.object_file<int>(tmp.file("missing")), spate::io_error);
}

TEST_CASE("a flipped byte in a block fails the job, naming the file and the block's offset") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("out");
  auto ints = random_ints(4, 1000, 0, 1 << 30);
  ctx.parallelize(ints, 1).save_as_object_file(dir);
  std::string part = dir + "/part-00000";
  std::string bytes = read_file(part);
  std::uint64_t block = first_block_offset<int>();
  for (std::uint64_t at : {block + 2, block + 30, block + 500}) {
    CAPTURE(at);
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    write_file(part, damaged);
    REQUIRE_THROWS_WITH(ctx.object_file<int>(dir).collect(),
                        Catch::Contains(part) && Catch::Contains("damaged at byte " + std::to_string(block)));
  }
  // A flipped byte in the index is found there too.
  std::string damaged = bytes;
  damaged[bytes.size() - 24 - 8 - 3] ^= 0x01;
  write_file(part, damaged);
  REQUIRE_THROWS_WITH(ctx.object_file<int>(dir).collect(),
                      Catch::Contains(part) && Catch::Contains("index checksum mismatch"));
  write_file(part, bytes);
  REQUIRE(same(ctx.object_file<int>(dir).collect(), ints));
}

TEST_CASE("a file cut short fails, naming the file and where it ends") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::string dir = tmp.file("out");
  ctx.parallelize(random_words(5, 300), 1).save_as_object_file(dir);
  std::string part = dir + "/part-00000";
  std::string bytes = read_file(part);
  for (std::size_t cut : {std::size_t{1}, std::size_t{30}, bytes.size() / 2}) {
    CAPTURE(cut);
    std::string shorter = bytes.substr(0, bytes.size() - cut);
    write_file(part, shorter);
    REQUIRE_THROWS_WITH(ctx.object_file<std::string>(dir).collect(),
                        Catch::Contains(part) && Catch::Contains("damaged at byte " + std::to_string(shorter.size() - 8)) &&
                            Catch::Contains("cut short"));
  }
  write_file(part, bytes.substr(0, 10));
  REQUIRE_THROWS_WITH(ctx.object_file<std::string>(dir), Catch::Contains(part) && Catch::Contains("ends inside its header"));
}

TEST_CASE("save_as_object_file refuses a directory holding a complete output") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto ds = ctx.parallelize(std::vector<int>{1, 2, 3}, 2);
  ds.save_as_object_file(tmp.file("done"));
  REQUIRE_THROWS_WITH(ds.save_as_object_file(tmp.file("done")), Catch::Contains("_SUCCESS"));
  REQUIRE(same(ctx.object_file<int>(tmp.file("done")).collect(), std::vector<int>{1, 2, 3}));
}
