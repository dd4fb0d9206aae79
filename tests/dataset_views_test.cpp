// Tests of view records (std::string_view) flowing through the Dataset API: text_file lines, and
// chains where views go into reduce_by_key, group_by_key, join, distinct, sort_by_key and the
// actions, and come out in owning form (std::string) with the right contents.
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace spate_test;
using std::string;
using std::string_view;

/// Random text: lines of 0-6 words from a small vocabulary, so that words repeat.
std::vector<string> random_lines(std::uint64_t seed, std::size_t n) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> words(0, 6), pick(0, 9);
  static const char* vocabulary[] = {"alpha", "beta",  "gamma", "delta", "eps",
                                     "zeta",  "eta",   "theta", "iota",  "a-rather-long-word"};
  std::vector<string> lines;
  for (std::size_t i = 0; i < n; ++i) {
    string line;
    for (int w = words(rng); w > 0; --w) {
      if (!line.empty()) line += ' ';
      line += vocabulary[pick(rng)];
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<string> split_words(const string& line) {
  std::vector<string> out;
  std::istringstream in(line);
  for (string w; in >> w;) out.push_back(w);
  return out;
}

/// The words of a line as views into it.
std::vector<string_view> word_views(string_view line) {
  std::vector<string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    std::size_t j = line.find(' ', i);
    if (j == string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string joined(const std::vector<string>& lines, const std::string& end) {
  std::string text;
  for (auto& l : lines) text += l + end;
  return text;
}

}  // namespace

TEST_CASE("text_file lines mapped to std::string equal the file's lines, for any partition count") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (std::size_t n : {std::size_t{1}, std::size_t{40}, std::size_t{500}}) {
      auto lines = random_lines(seed, n);
      TempDir tmp;
      write_file(tmp.file("in.txt"), joined(lines, "\n"));
      write_file(tmp.file("crlf.txt"), joined(lines, "\r\n"));
      for (auto parts : partition_counts(n, ctx)) {
        CAPTURE(seed, n, parts);
        auto ds = ctx.text_file(tmp.file("in.txt"), parts);
        static_assert(std::is_same_v<decltype(ds)::value_type, string_view>);
        REQUIRE(ds.num_partitions() >= 1);
        auto got = ds.map([](string_view l) { return string(l); }).collect();
        REQUIRE(same(got, lines));
        // collect of views also gives owned strings.
        REQUIRE(same(ds.collect(), lines));
        REQUIRE(ds.count() == n);
        REQUIRE(same(ctx.text_file(tmp.file("crlf.txt"), parts).collect(), lines));
      }
    }
}

TEST_CASE("text_file over a directory reads every file's lines") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  std::vector<string> all;
  for (int f = 0; f < 4; ++f) {
    auto lines = random_lines(100 + f, 30 + 10 * f);
    write_file(tmp.file("part-" + std::to_string(f) + ".txt"), joined(lines, "\n"));
    all.insert(all.end(), lines.begin(), lines.end());
  }
  write_file(tmp.file("_SUCCESS"), "");
  for (std::size_t parts : {1, 3, 9}) {
    CAPTURE(parts);
    // Files are read in path order, each file's lines in order.
    REQUIRE(same(ctx.text_file(tmp.str(), parts).collect(), all));
  }
}

TEST_CASE("word count over text_file views equals a std::map word count") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx)) {
    auto lines = random_lines(seed, 300);
    TempDir tmp;
    write_file(tmp.file("in.txt"), joined(lines, "\n"));
    std::map<string, int> ref;
    for (auto& l : lines)
      for (auto& w : split_words(l)) ++ref[w];
    for (auto parts : {std::size_t{1}, std::size_t{4}, std::size_t{13}}) {
      CAPTURE(seed, parts);
      auto counts = ctx.text_file(tmp.file("in.txt"), parts)
                        .flat_map([](string_view l) { return word_views(l); })
                        .map([](string_view w) { return std::pair<string_view, int>(w, 1); })
                        .reduce_by_key(std::plus<>{});
      static_assert(std::is_same_v<decltype(counts.collect()), std::vector<std::pair<string, int>>>);
      REQUIRE(same(sorted(counts.collect()), std::vector<std::pair<string, int>>(ref.begin(), ref.end())));
      // The emitter form of flat_map with views.
      auto emitted = ctx.text_file(tmp.file("in.txt"), parts)
                         .flat_map<string_view>([](string_view l, auto& emit) {
                           for (auto w : word_views(l)) emit(w);
                         })
                         .count_by_value();
      REQUIRE(emitted.size() == ref.size());
      for (auto& [w, c] : ref) REQUIRE(emitted[w] == static_cast<std::size_t>(c));
    }
  }
}

TEST_CASE("view keys and values come out of group_by_key, distinct and sort_by_key owned") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : partition_counts(120, ctx)) {
      CAPTURE(seed, parts);
      auto lines = random_lines(seed, 120);
      // (first word, rest of the line) as views into the parallelized strings.
      auto pairs = ctx.parallelize(lines, parts).map([](const string& l) {
        string_view v(l);
        auto sp = v.find(' ');
        if (sp == string_view::npos) return std::pair<string_view, string_view>(v, string_view{});
        return std::pair<string_view, string_view>(v.substr(0, sp), v.substr(sp + 1));
      });
      std::map<string, std::vector<string>> ref;
      std::vector<std::pair<string, string>> ref_pairs;
      for (auto& l : lines) {
        auto sp = l.find(' ');
        string k = sp == string::npos ? l : l.substr(0, sp);
        string v = sp == string::npos ? string{} : l.substr(sp + 1);
        ref[k].push_back(v);
        ref_pairs.emplace_back(k, v);
      }
      auto groups = pairs.group_by_key(3);
      static_assert(std::is_same_v<decltype(groups.collect()),
                                   std::vector<std::pair<string, std::vector<string>>>>);
      std::map<string, std::vector<string>> got;
      for (auto& [k, vs] : groups.collect()) REQUIRE(got.emplace(k, vs).second);
      REQUIRE(same(got, ref));  // arrival order is the input order for parallelize

      auto keys = pairs.keys().distinct();
      static_assert(std::is_same_v<decltype(keys.collect()), std::vector<string>>);
      std::vector<string> ref_keys;
      for (auto& [k, vs] : ref) ref_keys.push_back(k);
      REQUIRE(same(sorted(keys.collect()), ref_keys));

      auto by_key = pairs.sort_by_key(true, 3);
      std::stable_sort(ref_pairs.begin(), ref_pairs.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      REQUIRE(same(by_key.collect(), ref_pairs));
      REQUIRE(same(sorted(pairs.distinct().collect()), [&] {
        std::set<std::pair<string, string>> s(ref_pairs.begin(), ref_pairs.end());
        return std::vector<std::pair<string, string>>(s.begin(), s.end());
      }()));
    }
}

TEST_CASE("a join of view-keyed records with owned-keyed records matches on key contents") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : {std::size_t{1}, std::size_t{3}, std::size_t{8}}) {
      CAPTURE(seed, parts);
      auto words = random_words(seed, 100);
      auto more = random_words(seed + 10, 60);
      // Left: (word as a view, its index); right: (owned word, its length), duplicates both sides.
      auto left = ctx.parallelize(words, parts)
                      .zip_with_index()
                      .map([](const std::pair<string, std::uint64_t>& wi) {
                        return std::pair<string_view, std::uint64_t>(wi.first, wi.second);
                      });
      auto right = ctx.parallelize(more, 2).map([](const string& w) {
        return std::pair<string, std::size_t>(w, w.size());
      });
      std::vector<std::pair<string, std::pair<std::uint64_t, std::size_t>>> ref;
      std::vector<std::pair<string, std::pair<std::uint64_t, std::optional<std::size_t>>>> ref_left;
      for (std::size_t i = 0; i < words.size(); ++i) {
        bool matched = false;
        for (auto& m : more)
          if (m == words[i]) {
            matched = true;
            ref.push_back({words[i], {i, m.size()}});
            ref_left.push_back({words[i], {i, m.size()}});
          }
        if (!matched) ref_left.push_back({words[i], {i, std::nullopt}});
      }
      auto joined_ds = left.join(right, 4);
      static_assert(std::is_same_v<decltype(joined_ds.collect()),
                                   std::vector<std::pair<string, std::pair<std::uint64_t, std::size_t>>>>);
      REQUIRE(same(sorted(joined_ds.collect()), sorted(ref)));
      REQUIRE(same(sorted(left.left_outer_join(right).collect()), sorted(ref_left)));
      // And with the view side on the right.
      std::vector<std::pair<string, std::pair<std::size_t, std::uint64_t>>> swapped;
      for (auto& [k, vw] : ref) swapped.push_back({k, {vw.second, vw.first}});
      REQUIRE(same(sorted(right.join(left).collect()), sorted(swapped)));
    }
}

TEST_CASE("actions on view records return owned records equal to the viewed text") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  auto words = random_words(42, 90);
  for (auto parts : partition_counts(words.size(), ctx)) {
    CAPTURE(parts);
    auto views = ctx.parallelize(words, parts).map([](const string& w) { return string_view(w); });
    REQUIRE(same(views.collect(), words));
    REQUIRE(same(views.take(5), std::vector<string>(words.begin(), words.begin() + 5)));
    REQUIRE(views.first() == words.front());
    auto asc = sorted(words);
    REQUIRE(same(views.take_ordered(4), std::vector<string>(asc.begin(), asc.begin() + 4)));
    REQUIRE(same(views.top(3), std::vector<string>(asc.rbegin(), asc.rbegin() + 3)));
    std::string all;
    for (auto& w : words) all += w;
    auto total = views.aggregate(
        std::size_t{0}, [](std::size_t z, string_view w) { return z + w.size(); }, std::plus<>{});
    REQUIRE(total == all.size());
    REQUIRE(views.zip_with_index().collect().back() ==
            std::pair<string, std::uint64_t>(words.back(), words.size() - 1));
    std::map<string, std::size_t> ref;
    for (auto& w : words) ++ref[w];
    REQUIRE(same(views.count_by_value(), ref));
    auto repart = views.repartition(4);
    static_assert(std::is_same_v<decltype(repart.collect()), std::vector<string>>);
    REQUIRE(same(sorted(repart.collect()), asc));
    auto sorted_by_len = views.sort_by([](string_view w) { return w.size(); });
    auto got = sorted_by_len.collect();
    REQUIRE(std::is_sorted(got.begin(), got.end(),
                           [](const string& a, const string& b) { return a.size() < b.size(); }));
    REQUIRE(same(sorted(got), asc));
  }
}

TEST_CASE("text_file lines saved with save_as_text_file read back as the same lines") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto lines = random_lines(9, 200);
  write_file(tmp.file("in.txt"), joined(lines, "\n"));
  for (std::size_t parts : {1, 4, 250}) {
    CAPTURE(parts);
    std::string out = tmp.file("out" + std::to_string(parts));
    ctx.text_file(tmp.file("in.txt"), parts).save_as_text_file(out);
    REQUIRE(std::filesystem::exists(out + "/_SUCCESS"));
    REQUIRE(same(ctx.text_file(out, 3).collect(), lines));
  }
}

TEST_CASE("reduce_by_key and group_by_key on view keys into std::string records group by text") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  for (auto seed : seeds(ctx))
    for (auto parts : {std::size_t{1}, std::size_t{3}, std::size_t{9}}) {
      CAPTURE(seed, parts);
      auto words = random_words(seed, 150);
      std::map<string, std::size_t> per_prefix;
      std::map<string, std::vector<string>> groups;
      for (auto& w : words) {
        ++per_prefix[w.substr(0, 1)];
        groups[w.substr(0, 1)].push_back(w);
      }
      auto keyed = ctx.parallelize(words, parts).key_by([](const string& w) {
        return string_view(w).substr(0, 1);
      });
      REQUIRE(same(keyed.count_by_key(), per_prefix));
      std::map<string, std::vector<string>> got;
      for (auto& [k, vs] : keyed.group_by_key(2).collect()) got[k] = vs;
      REQUIRE(same(got, groups));
    }
}

TEST_CASE("text_file reads a last line without a line end, and no line from an empty file") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto lines = random_lines(21, 50);
  std::string text = joined(lines, "\n");
  text.pop_back();  // no '\n' after the last line
  write_file(tmp.file("open.txt"), text);
  write_file(tmp.file("empty.txt"), "");
  for (std::size_t parts : {1, 2, 7, 60}) {
    CAPTURE(parts);
    REQUIRE(same(ctx.text_file(tmp.file("open.txt"), parts).collect(), lines));
    REQUIRE(ctx.text_file(tmp.file("empty.txt"), parts).count() == 0);
  }
}

TEST_CASE("text_file of a path that does not exist throws io_error") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  REQUIRE_THROWS_AS(ctx.text_file(tmp.file("missing.txt")).count(), spate::io_error);
  REQUIRE_THROWS_AS(ctx.text_file(tmp.file("nothing-*.txt")).count(), spate::io_error);
}

TEST_CASE("text_file decompresses .gz and .zst files, each one partition, and follows globs") {
  auto ctx = make_context(SPATE_TEST_MASTER());
  TempDir tmp;
  auto gz_lines = random_lines(31, 400);
  auto zst_lines = random_lines(32, 300);
  auto plain_lines = random_lines(33, 100);
  {
    gzFile f = gzopen(tmp.file("a.log.gz").c_str(), "wb");
    REQUIRE(f != nullptr);
    std::string text = joined(gz_lines, "\n");
    REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
    REQUIRE(gzclose(f) == Z_OK);
  }
  {
    std::string text = joined(zst_lines, "\n");
    std::string packed(ZSTD_compressBound(text.size()), '\0');
    std::size_t n = ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    packed.resize(n);
    write_file(tmp.file("b.log.zst"), packed);
  }
  write_file(tmp.file("c.log"), joined(plain_lines, "\n"));
  write_file(tmp.file("d.txt"), "not matched by the glob\n");

  auto gz = ctx.text_file(tmp.file("a.log.gz"), 4);
  REQUIRE(gz.num_partitions() == 1);
  REQUIRE(same(gz.collect(), gz_lines));
  auto zst = ctx.text_file(tmp.file("b.log.zst"), 4);
  REQUIRE(zst.num_partitions() == 1);
  REQUIRE(same(zst.collect(), zst_lines));

  std::vector<string> all = gz_lines;
  all.insert(all.end(), zst_lines.begin(), zst_lines.end());
  all.insert(all.end(), plain_lines.begin(), plain_lines.end());
  for (std::size_t parts : {1, 5}) {
    CAPTURE(parts);
    REQUIRE(same(ctx.text_file(tmp.file("*.log*"), parts).collect(), all));
  }
  // Words counted over the compressed and plain files together.
  std::map<string, std::size_t> ref;
  for (auto& l : all)
    for (auto& w : split_words(l)) ++ref[w];
  auto counts = ctx.text_file(tmp.file("*.log*"), 3)
                    .flat_map([](string_view l) { return word_views(l); })
                    .count_by_value();
  REQUIRE(same(counts, ref));
}
