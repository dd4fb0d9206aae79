// Fuzz target: read_json_lines's line parser (simdjson DOM) and its split scan, on any bytes.
//
// Input: byte 0 picks the number of splits (1 to 16), the rest is the file. Checks:
// - each line's outcome agrees with Boost.JSON and the documented binding rules, written here:
//   a line is accepted exactly when it is one JSON object whose bound fields (ts: integer,
//   user: string, cost: optional number, ok: bool, n: optional uint32) have their types, with
//   the same values. Lines where the two parsers legitimately differ are not compared: nesting
//   near the 1024 limit, integers past 64 bits (simdjson refuses them, Boost.JSON reads a
//   double), a bound name written twice or with escapes (Boost.JSON keeps one silently);
// - the split scan (JsonLinesSource over a file cut into splits) gives, in order, exactly the
//   rows and malformed count that parsing each line gives.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "formats/json_line_parser.hpp"
#include "fuzz_support.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/json_lines_source.hpp"
#include "spate/detail/task_context.hpp"

namespace {

using spate::detail::JsonFieldSpec;
using spate::detail::JsonKind;
using spate::detail::JsonValue;
using spate_fuzz::fail;

std::string g_path;

const std::vector<JsonFieldSpec> kFields{{"ts", JsonKind::integer, false},
                                         {"user", JsonKind::string, false},
                                         {"cost", JsonKind::floating, true},
                                         {"ok", JsonKind::boolean, false},
                                         {"n", JsonKind::unsigned_integer, true}};

/// A row as text, for comparing: each value or "-" for an absent optional one.
std::string row_text(const JsonValue* v) {
  std::string s = std::to_string(v[0].integer) + "|" + std::string(v[1].string) + "|";
  s += v[2].present ? std::to_string(v[2].floating) : "-";
  s += std::string("|") + (v[3].boolean ? "t" : "f") + "|";
  s += v[4].present && v[4].unsigned_integer <= UINT32_MAX ? std::to_string(v[4].unsigned_integer) : "-";
  return s;
}

/// Boost.JSON's verdict: the row, or nullopt for a malformed line; sets ambiguous instead when
/// the parsers may legitimately differ.
std::optional<std::string> reference(const std::string& line, bool& ambiguous) {
  ambiguous = false;
  std::size_t depth = 0, deepest = 0;
  for (char c : line) {
    if (c == '[' || c == '{') deepest = std::max(deepest, ++depth);
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
  for (const char* name : {"\"ts\"", "\"user\"", "\"cost\"", "\"ok\"", "\"n\""}) {
    std::size_t first = line.find(name);
    if (first != std::string::npos && line.find(name, first + 1) != std::string::npos) ambiguous = true;
  }
  if (deepest > 1000 || line.find("\\u") != std::string::npos) ambiguous = true;
  boost::json::parse_options opts;
  opts.max_depth = 1024;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec, {}, opts);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  // Integers past 64 bits, exponents out of range and the last bit of long decimals: the two
  // parsers may read such numbers differently.
  std::size_t run = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    run = c >= '0' && c <= '9' ? run + 1 : 0;
    if (run >= 16 || ((c == 'e' || c == 'E') && i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')) ambiguous = true;
  }
  const auto* ts = o.if_contains("ts");
  const auto* user = o.if_contains("user");
  const auto* cost = o.if_contains("cost");
  const auto* ok = o.if_contains("ok");
  const auto* n = o.if_contains("n");
  if (!ts || !(ts->is_int64() || (ts->is_uint64() && ts->as_uint64() <= INT64_MAX))) return std::nullopt;
  if (!user || !user->is_string() || !ok || !ok->is_bool()) return std::nullopt;
  JsonValue vals[5];
  vals[0].integer = ts->is_int64() ? ts->as_int64() : static_cast<std::int64_t>(ts->as_uint64());
  std::string u(user->as_string());
  vals[1].string = u;
  if (cost && !cost->is_null()) {
    if (!cost->is_number()) return std::nullopt;
    vals[2].present = true;
    vals[2].floating = cost->to_number<double>();
  }
  vals[3].boolean = ok->as_bool();
  if (n && !n->is_null()) {
    if (n->is_int64() && n->as_int64() >= 0) {
      vals[4].unsigned_integer = static_cast<std::uint64_t>(n->as_int64());
    } else if (n->is_uint64()) {
      vals[4].unsigned_integer = n->as_uint64();
    } else {
      return std::nullopt;
    }
    vals[4].present = true;
  }
  return row_text(vals);
}

struct Sink {
  std::vector<std::string> rows;
};

spate::detail::RowProblem keep(void* sink, const JsonValue* values) {
  // The uint32 member's range check, as the template does it.
  if (values[4].present && values[4].unsigned_integer > UINT32_MAX) return {"integer out of range", 4};
  static_cast<Sink*>(sink)->rows.push_back(row_text(values));
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/spate-fuzz-json-XXXXXX";
  if (::mkdtemp(dir) == nullptr) fail("cannot make a temporary directory");
  g_path = std::string(dir) + "/input.jsonl";
  spate_fuzz::write_seeds_if_asked(
      "jsonl", {std::string("\x03") + R"({"ts":1,"user":"a","ok":true,"cost":1.5,"n":3})" "\n" R"([1])" "\n"
                    R"({"ts":2,"user":"b\n","ok":false,"x":{"y":[null]}})" "\r\n\n" R"({"ts":"3"})" "\n"});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t splits = 1 + data[0] % 16;
  const std::string content(reinterpret_cast<const char*>(data) + 1, size - 1);

  // Each line on its own, against the reference; also what the scan should give.
  spate::detail::JsonLineParser parser(kFields);
  Sink want;
  std::uint64_t want_bad = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t nl = content.find('\n', start);
    if (nl == std::string::npos) nl = content.size();
    std::string line = content.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string padded = line + std::string(64, '\0');
    JsonValue values[5];
    spate::detail::RowProblem problem = parser.parse(padded.data(), line.size(), padded.size(), values);
    if (!problem) problem = keep(&want, values);
    if (problem) ++want_bad;
    if (problem && problem.what == nullptr) fail("a problem without a reason");
    bool ambiguous = false;
    std::optional<std::string> ref = reference(line, ambiguous);
    if (ambiguous) continue;
    if (ref.has_value() != !problem) fail(problem ? "simdjson refused a line Boost.JSON accepts" : "simdjson accepted a line Boost.JSON refuses");
    if (ref && *ref != want.rows.back()) fail("the values differ from Boost.JSON's");
  }

  {
    std::ofstream out(g_path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) fail("cannot write the input file");
  }
  Sink got;
  std::uint64_t got_bad = 0;
  bool done = spate_fuzz::refused_or_done([&] {
    auto source = spate::detail::JsonLinesSource::plan(g_path, splits, kFields);
    spate::detail::BlockStore store;
    spate::detail::BadRecordPolicy policy{false, "bad"};
    for (std::size_t p = 0; p < source.partitions(); ++p) {
      spate::detail::TaskContext tc(store, 0, p, 1);
      source.scan(tc, p, policy, &keep, &got);
      for (const auto& [name, n] : tc.counters())
        if (name == "bad") got_bad += n;
    }
  });
  if (!done) fail("scanning a readable file threw");
  if (got.rows != want.rows) fail("the split scan's rows differ from the lines parsed one by one");
  if (got_bad != want_bad) fail("the split scan's malformed count differs");
  return 0;
}
