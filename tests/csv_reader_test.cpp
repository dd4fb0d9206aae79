// Tests of read_csv: every master reads what a plain reference parser of the documented rules
// reads, however splits cut the files (quoted line breaks across split boundaries included), from
// plain, gzip and zstd files, and bad records are counted or fail strict jobs with file and line.
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "compressed_files.hpp"
#include "csv_reference.hpp"
#include "spate/csv_reader.hpp"
#include "test_support.hpp"

namespace {

using spate_test::make_context;
using spate_test::ref_split;
using spate_test::RefField;
using spate_test::TempDir;
using spate_test::valid_utf8;
using spate_test::write_file;

struct Sale {
  std::int64_t id = 0;
  std::string name;
  std::optional<double> price;
  bool flag = false;
  std::optional<std::string> note;
};
using SaleTuple = std::tuple<std::int64_t, std::string, std::optional<double>, bool, std::optional<std::string>>;

SaleTuple as_tuple(const Sale& s) { return {s.id, s.name, s.price, s.flag, s.note}; }

// ---- The reference: the documented rules, one character at a time. ----

std::optional<std::int64_t> ref_int(const std::string& s) {
  std::size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == s.size()) return std::nullopt;
  __int128 v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
    if (v > (static_cast<__int128>(1) << 64)) return std::nullopt;
  }
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
  return static_cast<std::int64_t>(v);
}

std::optional<double> ref_double(const std::string& s) {
  if (s.empty() || s[0] == ' ' || s.find_first_of("xX") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

std::optional<bool> ref_bool(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return std::nullopt;
}

struct RefResult {
  std::vector<SaleTuple> rows;
  std::uint64_t malformed = 0;
};

/// Reads one file's content: records end at '\n' after an even number of quotes.
void reference_csv(const std::string& content, char sep, char q, bool header, std::size_t header_fields,
                   RefResult& out) {
  std::size_t start = 0;
  bool first = true;
  while (start < content.size()) {
    bool in_quotes = false;
    std::size_t i = start;
    while (i < content.size() && !(content[i] == '\n' && !in_quotes)) {
      if (content[i] == q) in_quotes = !in_quotes;
      ++i;
    }
    std::string rec = content.substr(start, i - start);
    const bool at_file_start = start == 0;
    start = i + 1;
    if (!rec.empty() && rec.back() == '\r') rec.pop_back();
    if (rec.empty()) continue;
    if (at_file_start && header && first) {
      first = false;
      continue;
    }
    std::vector<RefField> f;
    if (!valid_utf8(rec) || !ref_split(rec, sep, q, f) || (header ? f.size() != header_fields : f.size() < 5)) {
      ++out.malformed;
      continue;
    }
    auto id = ref_int(f[0].text);
    std::optional<double> price;
    bool price_ok = true;
    if (!f[2].text.empty()) {
      price = ref_double(f[2].text);
      price_ok = price.has_value();
    }
    auto flag = ref_bool(f[3].text);
    std::optional<std::string> note;
    if (!f[4].text.empty() || f[4].quoted) note = f[4].text;
    if (!id || !price_ok || !flag) {
      ++out.malformed;
      continue;
    }
    out.rows.emplace_back(*id, f[1].text, price, *flag, note);
  }
}

// ---- Random CSV with every kind of quoting and bad record. ----

std::string render(const std::string& text, char sep, char q, std::mt19937_64& rng) {
  bool must = text.find_first_of(std::string{sep, q, '\n', '\r'}) != std::string::npos;
  if (!must && rng() % 5 != 0) return text;
  std::string out(1, q);
  for (char c : text) {
    if (c == q) out += q;
    out += c;
  }
  return out + q;
}

std::string random_text(std::mt19937_64& rng, char sep, char q) {
  static const std::vector<std::string> pieces{"a", "b", "Zo", " ", "\xc3\xa9", "\n", "\r\n", "x y"};
  std::string s;
  const std::size_t n = rng() % 6;
  for (std::size_t i = 0; i < n; ++i) {
    switch (rng() % 12) {
      case 0: s += sep; break;
      case 1: s += q; break;
      default: s += pieces[rng() % pieces.size()];
    }
  }
  return s;
}

std::string random_csv(std::uint64_t seed, std::size_t rows, bool header, char sep = ',', char q = '"',
                       bool unterminated_tail = false) {
  std::mt19937_64 rng(seed);
  std::string out;
  const std::string s(1, sep);
  if (header) out += "id" + s + "name" + s + "price" + s + "flag" + s + "note\n";
  for (std::size_t r = 0; r < rows; ++r) {
    const std::string eol = rng() % 4 == 0 ? "\r\n" : "\n";
    if (rng() % 15 == 0) out += eol;  // a blank line
    if (rng() % 8 == 0) {
      static const std::vector<std::string> bad{
          "12,ab\"c\"d,1.5,true,x", "12,\"ab\"c,1.5,true,x", "12,ab\xff,1.5,true,x", "x12,ab,1.5,true,x",
          "12,ab",               "12,ab,1.5,,x",          "12,ab,1.5.1,true,x",   "99999999999999999999,a,1,1,x",
          "12,ab,1.5,yes,x",     "12,ab,1.5,true,x,extra"};
      // Each has an even number of quotes: an odd one would join the records after it into one
      // malformed record up to the next odd quote (a case of its own below).
      std::string line = bad[rng() % bad.size()];
      for (auto& c : line) {
        if (c == ',') c = sep;
        else if (c == '"') c = q;
      }
      out += line + eol;
      continue;
    }
    std::string id = std::to_string(static_cast<std::int64_t>(rng() % 2000) - 1000);
    if (rng() % 10 == 0) id = "+" + std::to_string(rng() % 100);
    std::string price = rng() % 4 == 0 ? "" : std::to_string(static_cast<double>(rng() % 100000) / 100.0);
    std::string flag = std::vector<std::string>{"true", "false", "TRUE", "0", "1", "False"}[rng() % 6];
    std::string note = rng() % 3 == 0 ? std::string() : random_text(rng, sep, q);
    std::string note_field = note.empty() && rng() % 2 == 0 ? std::string(2, q) : render(note, sep, q, rng);
    out += render(id, sep, q, rng) + s + render(random_text(rng, sep, q), sep, q, rng) + s +
           render(price, sep, q, rng) + s + render(flag, sep, q, rng) + s + note_field;
    out += (r + 1 == rows && rng() % 2 == 0) ? "" : eol;  // the last line may lack its line end
  }
  if (unterminated_tail) out += "\n7,\"never closed\n8,b,1,true,x\n9,c,2,false,y\n";
  return out;
}

spate::ParsedInput<Sale> read_sales(const spate::Context& ctx, const std::string& path, spate::CsvOptions o) {
  return spate::read_csv<Sale>(ctx, path, o, spate::csv_column(&Sale::id, 0), spate::csv_column(&Sale::name, 1),
                               spate::csv_column(&Sale::price, 2), spate::csv_column(&Sale::flag, 3),
                               spate::csv_column(&Sale::note, 4));
}

std::vector<SaleTuple> collect_rows(const spate::ParsedInput<Sale>& in) {
  return in.records().map([](const Sale& s) { return as_tuple(s); }).collect();
}

}  // namespace

TEST_CASE("read_csv reads exactly the rows and malformed records of a reference parser, in every master",
          "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  for (std::uint64_t seed : spate_test::seeds(ctx)) {
    for (bool header : {false, true}) {
      const std::string content = random_csv(seed, 300, header);
      const std::string path = dir.file("sales-" + std::to_string(seed) + (header ? "-h" : "") + ".csv");
      write_file(path, content);
      RefResult ref;
      reference_csv(content, ',', '"', header, 5, ref);
      REQUIRE(ref.rows.size() > 200);
      REQUIRE(ref.malformed > 10);
      for (std::size_t parts : {std::size_t{1}, std::size_t{3}, std::size_t{64}}) {
        CAPTURE(seed, header, parts);
        auto in = read_sales(ctx, path, {.header = header, .min_partitions = parts});
        CHECK(collect_rows(in) == ref.rows);
        CHECK(in.malformed_lines() == ref.malformed);
      }
    }
  }
}

TEST_CASE("read_csv gives every record once when quoted line breaks straddle split boundaries of a few bytes",
          "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  // Many fields with line breaks and escaped quotes next to them, and splits of 2 to 10 bytes.
  std::string content;
  for (int i = 0; i < 40; ++i) {
    content += std::to_string(i) + ",\"line one\nline \"\"two\"\"\n\n,three\",,1,\"\n\"\n";
  }
  const std::string path = dir.file("multiline.csv");
  write_file(path, content);
  RefResult ref;
  reference_csv(content, ',', '"', false, 5, ref);
  REQUIRE(ref.rows.size() == 40);
  REQUIRE(ref.malformed == 0);
  for (std::size_t parts : {content.size() / 10, content.size() / 2}) {
    CAPTURE(parts);
    auto in = read_sales(ctx, path, {.min_partitions = parts});
    REQUIRE(in.records().num_partitions() >= content.size() / 10);
    CHECK(collect_rows(in) == ref.rows);
    CHECK(in.malformed_lines() == 0);
  }
  // Random content, cut into splits of about 3 bytes.
  const std::string random = random_csv(7, 60, true);
  write_file(path, random);
  RefResult ref2;
  reference_csv(random, ',', '"', true, 5, ref2);
  auto in = read_sales(ctx, path, {.header = true, .min_partitions = random.size() / 3});
  CHECK(collect_rows(in) == ref2.rows);
  CHECK(in.malformed_lines() == ref2.malformed);
}

TEST_CASE("read_csv reads plain, gzip and zstd files of a directory, each with its header", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  RefResult ref;
  const std::vector<std::string> names{"a.csv", "b.csv.gz", "c.csv.zst"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string content = random_csv(100 + i, 200, true);
    reference_csv(content, ',', '"', true, 5, ref);
    if (i == 0) write_file(dir.file(names[i]), content);
    if (i == 1) spate_test::write_gzip(dir.file(names[i]), content);
    if (i == 2) spate_test::write_zstd(dir.file(names[i]), content);
  }
  auto in = spate::read_csv<Sale>(ctx, dir.str(), {.header = true, .min_partitions = 8},
                                  spate::csv_column(&Sale::id, "id"), spate::csv_column(&Sale::name, "name"),
                                  spate::csv_column(&Sale::price, "price"), spate::csv_column(&Sale::flag, "flag"),
                                  spate::csv_column(&Sale::note, "note"));
  CHECK(collect_rows(in) == ref.rows);
  CHECK(in.malformed_lines() == ref.malformed);
}

TEST_CASE("read_csv with another separator and quote reads what the reference reads", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string content = random_csv(5, 300, false, ';', '\'');
  write_file(dir.file("semi.csv"), content);
  RefResult ref;
  reference_csv(content, ';', '\'', false, 5, ref);
  auto in = read_sales(ctx, dir.file("semi.csv"), {.separator = ';', .quote = '\'', .min_partitions = 5});
  CHECK(collect_rows(in) == ref.rows);
  CHECK(in.malformed_lines() == ref.malformed);
}

TEST_CASE("read_csv_tuple binds columns by index and by name into a std::tuple", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  write_file(dir.file("t.csv"), "a,b,c\n1,x,2.5\n2,\"y,z\",\n3,w,oops\n");
  auto in = spate::read_csv_tuple<std::string, std::int32_t, std::optional<float>>(
      ctx, dir.file("t.csv"), {.header = true, .min_partitions = 2}, {"b", 0, "c"});
  using T = std::tuple<std::string, std::int32_t, std::optional<float>>;
  CHECK(in.records().collect() == std::vector<T>{{"x", 1, 2.5f}, {"y,z", 2, std::nullopt}});
  CHECK(in.malformed_lines() == 1);
  auto all = spate::read_csv_tuple<std::string, std::string>(ctx, dir.file("t.csv"), {});
  CHECK(all.records().count() == 4);  // no header: every record, the first two columns
}

TEST_CASE("read_csv counts unterminated quotes, over-long records and lines longer than a split", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  // An unterminated quote swallows the rest of the file: one malformed record, whichever split.
  const std::string content = random_csv(3, 50, false, ',', '"', true);
  write_file(dir.file("open.csv"), content);
  RefResult ref;
  reference_csv(content, ',', '"', false, 5, ref);
  for (std::size_t parts : {std::size_t{1}, content.size() / 4}) {
    auto in = read_sales(ctx, dir.file("open.csv"), {.min_partitions = parts});
    CHECK(collect_rows(in) == ref.rows);
    CHECK(in.malformed_lines() == ref.malformed);
  }
  // A record of 300 KB (past the reader's 256 KB blocks) in splits of 1 KB, and the same over the limit.
  std::string big = "1,\"" + std::string(300'000, 'x') + "\n" + std::string(1000, 'y') + "\",,true,\n2,b,,false,\n";
  write_file(dir.file("big.csv"), big);
  auto in = read_sales(ctx, dir.file("big.csv"), {.min_partitions = big.size() / 1000});
  auto rows = collect_rows(in);
  REQUIRE(rows.size() == 2);
  CHECK(std::get<1>(rows[0]).size() == 301'001);
  CHECK(std::get<0>(rows[1]) == 2);
  auto limited = read_sales(ctx, dir.file("big.csv"), {.min_partitions = 3, .max_record_bytes = 100'000});
  CHECK(collect_rows(limited) == std::vector<SaleTuple>{{2, "b", std::nullopt, false, std::nullopt}});
  CHECK(limited.malformed_lines() == 1);
  // Without multiline, a quote open at a line's end is malformed, and the next line a record.
  write_file(dir.file("lines.csv"), "1,\"a\n2,b,,true,\n");
  auto single = read_sales(ctx, dir.file("lines.csv"), {.multiline = false, .min_partitions = 2});
  CHECK(collect_rows(single) == std::vector<SaleTuple>{{2, "b", std::nullopt, true, std::nullopt}});
  CHECK(single.malformed_lines() == 1);
}

TEST_CASE("read_csv in strict mode fails the job naming the file, line, column and reason", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string path = dir.file("strict.csv");
  write_file(path, "id,name,price,flag,note\n1,\"two\nlines\",,true,\n3,c,1.5,maybe,\n");
  auto in = spate::read_csv<Sale>(ctx, path, {.header = true, .strict = true}, spate::csv_column(&Sale::id, "id"),
                                  spate::csv_column(&Sale::flag, "flag"));
  REQUIRE_THROWS_WITH(in.records().count(), Catch::Contains(path + ":4:") &&
                                                Catch::Contains("column 'flag' (3): not a boolean") &&
                                                Catch::Contains("maybe"));
  write_file(path, "id,name,price,flag,note\n1,\"a\"b,,true,\n");
  auto quoting = read_sales(ctx, path, {.header = true, .strict = true});
  REQUIRE_THROWS_WITH(quoting.records().count(),
                      Catch::Contains(path + ":2:") && Catch::Contains("text after the closing quote"));
  write_file(path, "1,a\xff,,true,\n");
  auto utf8 = read_sales(ctx, path, {.strict = true});
  REQUIRE_THROWS_WITH(utf8.records().count(), Catch::Contains(path + ":1:") && Catch::Contains("invalid UTF-8") &&
                                                  Catch::Contains("\\xff"));
}

TEST_CASE("read_csv refuses unknown column names and files whose header differs from the first", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  write_file(dir.file("a.csv"), "id,name\n1,a\n");
  write_file(dir.file("b.csv"), "name,id\nb,2\n");
  REQUIRE_THROWS_AS(spate::read_csv<Sale>(ctx, dir.file("a.csv"), {.header = true},
                                          spate::csv_column(&Sale::id, "identifier")),
                    spate::config_error);
  REQUIRE_THROWS_AS(spate::read_csv<Sale>(ctx, dir.file("a.csv"), {}, spate::csv_column(&Sale::id, "id")),
                    spate::config_error);
  auto both = spate::read_csv<Sale>(ctx, dir.str(), {.header = true}, spate::csv_column(&Sale::id, "id"));
  REQUIRE_THROWS_WITH(both.records().count(), Catch::Contains(dir.file("b.csv")) && Catch::Contains("header"));
}

TEST_CASE("read_csv fills std::string_view members with views a map can copy", "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  write_file(dir.file("v.csv"), "1,\"a \"\"q\"\"\",\n2,b,\"\"\n3,c,x\n");
  struct ViewRow {
    std::int64_t id = 0;
    std::string_view name;
    std::optional<std::string_view> note;
  };
  auto in = spate::read_csv<ViewRow>(ctx, dir.file("v.csv"), {.min_partitions = 3}, spate::csv_column(&ViewRow::id, 0),
                                     spate::csv_column(&ViewRow::name, 1), spate::csv_column(&ViewRow::note, 2));
  auto rows = in.records()
                  .map([](const ViewRow& r) {
                    return std::tuple(r.id, std::string(r.name), r.note ? std::optional<std::string>(*r.note) : std::nullopt);
                  })
                  .collect();
  using T = std::tuple<std::int64_t, std::string, std::optional<std::string>>;
  CHECK(rows == std::vector<T>{{1, "a \"q\"", std::nullopt}, {2, "b", ""}, {3, "c", "x"}});
}

TEST_CASE("read_csv gives every row unbound members at their defaults, whatever a consumer did to the last one",
          "[csv]") {
  const std::string master = SPATE_TEST_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  // Long texts (past any small-string buffer) after short ones and back, and an empty optional.
  write_file(dir.file("d.csv"),
             "1,a-long-text-of-more-than-sixteen-bytes,x\n2,b,\n3,another-long-text-of-many-bytes,y\n4,,z\n");
  struct Row {
    std::int64_t id = 0;
    std::string name;
    std::optional<std::string> note;
    std::string unbound = "default text of more than sixteen bytes";
    int tag = 7;
  };
  auto in = spate::read_csv<Row>(ctx, dir.file("d.csv"), {.min_partitions = 1}, spate::csv_column(&Row::id, 0),
                                 spate::csv_column(&Row::name, 1), spate::csv_column(&Row::note, 2));
  // The consumer changes the members it was handed in place, and takes nothing.
  auto seen = in.records()
                  .map([](Row&& r) {
                    auto t = std::tuple(r.id, r.name, r.note, r.unbound, r.tag);
                    r.unbound = "changed";
                    r.tag = 0;
                    r.name += "!";
                    return t;
                  })
                  .collect();
  using T = std::tuple<std::int64_t, std::string, std::optional<std::string>, std::string, int>;
  const std::string d = "default text of more than sixteen bytes";
  CHECK(seen == std::vector<T>{{1, "a-long-text-of-more-than-sixteen-bytes", "x", d, 7},
                               {2, "b", std::nullopt, d, 7},
                               {3, "another-long-text-of-many-bytes", "y", d, 7},
                               {4, "", "z", d, 7}});
}
