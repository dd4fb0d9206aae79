// spate-bench-formats: read_csv and read_json_lines on the click log written as CSV and as JSON
// lines, against a hand-written single-threaded parser of the same file and against spate's TSV
// click-log reader, all in one run. Each contender turns every row into the same ten typed
// fields and counts the rows; the counts must agree. Prints rows/s, CPU time and the ratios of wall times.
//
// The baselines are as fast as we could make them in one thread: read() into one reused 4 MiB
// buffer, memchr for line ends and separators (vectorised in glibc), fields assigned into one
// reused row (no allocation per row once its strings have grown); for JSON, simdjson's On-Demand
// iterate_many over each buffer of whole lines, fields looked up in file order.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <simdjson.h>
#include <spate/clicklog_generator.hpp>
#include <spate/clicklog_reader.hpp>
#include <spate/command_line.hpp>
#include <spate/csv_reader.hpp>
#include <spate/json_lines_reader.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.hpp"

namespace {

namespace fs = std::filesystem;

struct ClickRow {
  std::int64_t ts = 0;
  std::string user_id, session_id, event;
  std::int64_t campaign_id = 0, ad_id = 0;
  std::string url, country, device;
  std::int64_t cost_micros = 0;
};

/// The same fields as views into the reader's buffer, as ClickView (the TSV reader's record) has.
struct ClickRowView {
  std::int64_t ts = 0;
  std::string_view user_id, session_id, event;
  std::int64_t campaign_id = 0, ad_id = 0;
  std::string_view url, country, device;
  std::int64_t cost_micros = 0;
};

const char* const kNames[] = {"ts",  "user_id", "session_id", "event",  "campaign_id",
                              "ad_id", "url",   "country",    "device", "cost_micros"};

struct BenchError {
  std::string message;
};

/// Reads a file front to back in 4 MiB chunks through `on_chunk(data, size)`, which returns how
/// many bytes it consumed (whole lines); the rest moves to the front. 64 bytes of padding follow.
template <class F>
void read_chunks(const fs::path& path, F&& on_chunk) {
  constexpr std::size_t kChunk = 4 << 20, kPad = 64;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw BenchError{"cannot open " + path.string()};
  std::vector<char> buf(2 * kChunk + kPad);
  std::size_t have = 0;
  for (;;) {
    if (have + kChunk > buf.size() - kPad) buf.resize(have + kChunk + kPad);
    ssize_t n = ::read(fd, buf.data() + have, kChunk);
    if (n < 0) throw BenchError{"cannot read " + path.string()};
    have += static_cast<std::size_t>(n);
    if (n == 0 && have > 0 && buf[have - 1] != '\n') buf[have++] = '\n';
    std::size_t used = on_chunk(buf.data(), have, n == 0);
    std::memmove(buf.data(), buf.data() + used, have - used);
    have -= used;
    if (n == 0) break;
  }
  ::close(fd);
}

std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

/// The hand-written CSV reader (quoted fields within a line; the click data has no quoted line
/// breaks). Returns the rows; checksum keeps the compiler from dropping the work.
std::int64_t handwritten_csv(const fs::path& path, std::uint64_t& checksum) {
  ClickRow row;
  std::int64_t rows = 0;
  bool header = true;
  std::string unquoted;
  std::string_view f[10];
  read_chunks(path, [&](char* data, std::size_t size, bool) {
    const char* p = data;
    const char* end = data + size;
    for (;;) {
      const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) break;
      const char* q = p;
      int k = 0;
      for (; k < 10 && q <= nl; ++k) {
        if (*q == '"') {
          unquoted.clear();
          const char* c = q + 1;
          for (;;) {
            const auto* e = static_cast<const char*>(std::memchr(c, '"', static_cast<std::size_t>(nl - c)));
            if (e == nullptr) break;
            unquoted.append(c, e);
            if (e[1] == '"') {
              unquoted += '"';
              c = e + 2;
              continue;
            }
            c = e + 1;
            break;
          }
          f[k] = unquoted;  // only the url may be quoted in this data
          q = c + 1;
          continue;
        }
        const auto* comma = static_cast<const char*>(std::memchr(q, ',', static_cast<std::size_t>(nl - q)));
        const char* stop = comma != nullptr ? comma : nl;
        f[k] = std::string_view(q, static_cast<std::size_t>(stop - q));
        q = stop + 1;
      }
      p = nl + 1;
      if (header) {
        header = false;
        continue;
      }
      if (k != 10) continue;
      row.ts = to_int(f[0]);
      row.user_id.assign(f[1]);
      row.session_id.assign(f[2]);
      row.event.assign(f[3]);
      row.campaign_id = to_int(f[4]);
      row.ad_id = to_int(f[5]);
      row.url.assign(f[6]);
      row.country.assign(f[7]);
      row.device.assign(f[8]);
      row.cost_micros = to_int(f[9]);
      checksum += static_cast<std::uint64_t>(row.ts) + row.url.size();
      ++rows;
    }
    return static_cast<std::size_t>(p - data);
  });
  return rows;
}

/// The JSON baseline: simdjson On-Demand iterate_many over each chunk of whole lines.
std::int64_t handwritten_json(const fs::path& path, std::uint64_t& checksum) {
  simdjson::ondemand::parser parser;
  ClickRow row;
  std::int64_t rows = 0;
  read_chunks(path, [&](char* data, std::size_t size, bool) {
    const char* last = static_cast<const char*>(::memrchr(data, '\n', size));
    if (last == nullptr) return std::size_t{0};
    const std::size_t whole = static_cast<std::size_t>(last - data) + 1;
    simdjson::ondemand::document_stream docs;
    if (parser.iterate_many(data, whole, 1 << 20).get(docs)) throw BenchError{"iterate_many failed"};
    for (auto doc : docs) {
      simdjson::ondemand::object o;
      if (doc.get_object().get(o)) continue;
      std::string_view s;
      std::int64_t i = 0;
      bool ok = !o["ts"].get_int64().get(i);
      row.ts = i;
      ok &= !o["user_id"].get_string().get(s);
      row.user_id.assign(s);
      ok &= !o["session_id"].get_string().get(s);
      row.session_id.assign(s);
      ok &= !o["event"].get_string().get(s);
      row.event.assign(s);
      ok &= !o["campaign_id"].get_int64().get(row.campaign_id);
      ok &= !o["ad_id"].get_int64().get(row.ad_id);
      ok &= !o["url"].get_string().get(s);
      row.url.assign(s);
      ok &= !o["country"].get_string().get(s);
      row.country.assign(s);
      ok &= !o["device"].get_string().get(s);
      row.device.assign(s);
      ok &= !o["cost_micros"].get_int64().get(row.cost_micros);
      if (!ok) continue;
      checksum += static_cast<std::uint64_t>(row.ts) + row.url.size();
      ++rows;
    }
    return whole;
  });
  return rows;
}

/// Writes the TSV click log as CSV (quoting a field only when it needs it) and as JSON lines.
void convert(const fs::path& tsv, const fs::path& csv, const fs::path& jsonl) {
  std::ifstream in(tsv, std::ios::binary);
  std::ofstream out_csv(csv.string() + ".partial", std::ios::binary);
  std::ofstream out_json(jsonl.string() + ".partial", std::ios::binary);
  std::string line, c, j;
  bool header = true;
  while (std::getline(in, line)) {
    std::string_view f[10];
    std::size_t start = 0;
    int k = 0;
    for (; k < 10; ++k) {
      std::size_t tab = line.find('\t', start);
      f[k] = std::string_view(line).substr(start, tab == std::string::npos ? std::string::npos : tab - start);
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    c.clear();
    for (int i = 0; i < 10; ++i) {
      if (i) c += ',';
      if (f[i].find_first_of(",\"\n\r") != std::string_view::npos) {
        c += '"';
        for (char ch : f[i]) c += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        c += '"';
      } else {
        c += f[i];
      }
    }
    out_csv << c << '\n';
    if (header) {
      header = false;
      continue;
    }
    j = "{";
    for (int i = 0; i < 10; ++i) {
      if (i) j += ',';
      j += '"';
      j += kNames[i];
      j += "\":";
      const bool number = i == 0 || i == 4 || i == 5 || i == 9;
      if (!number) j += '"';
      for (char ch : f[i]) {
        if (ch == '"' || ch == '\\') j += '\\';
        j += ch;
      }
      if (!number) j += '"';
    }
    j += "}\n";
    out_json << j;
  }
  if (!out_csv.flush() || !out_json.flush()) throw BenchError{"cannot write the converted files"};
  out_csv.close();
  out_json.close();
  fs::rename(csv.string() + ".partial", csv);
  fs::rename(jsonl.string() + ".partial", jsonl);
}

/// The process's CPU time so far (every thread), which other programs on a busy machine do not
/// add to as they add to wall time.
double cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Timing {
  double wall;  ///< median wall seconds of the runs
  double cpu;   ///< median CPU seconds of the runs, all threads
};

Timing seconds_of(const std::function<std::int64_t()>& run, std::int64_t expected_rows, const std::string& what,
                  int repeat) {
  std::vector<double> times, cpu;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    std::int64_t rows = run();
    cpu.push_back(cpu_seconds() - c0);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (rows != expected_rows)
      throw BenchError{fmt::format("{} counted {} rows, expected {}", what, rows, expected_rows)};
  }
  return {spate_bench::median(times), spate_bench::median(cpu)};
}

template <class Row>
std::int64_t read_csv_rows(const spate::Context& ctx, const fs::path& csv) {
  auto in = spate::read_csv<Row>(
      ctx, csv.string(), {.header = true}, spate::csv_column(&Row::ts, 0), spate::csv_column(&Row::user_id, 1),
      spate::csv_column(&Row::session_id, 2), spate::csv_column(&Row::event, 3),
      spate::csv_column(&Row::campaign_id, 4), spate::csv_column(&Row::ad_id, 5), spate::csv_column(&Row::url, 6),
      spate::csv_column(&Row::country, 7), spate::csv_column(&Row::device, 8),
      spate::csv_column(&Row::cost_micros, 9));
  return static_cast<std::int64_t>(in.records().count());
}

template <class Row>
std::int64_t read_json_rows(const spate::Context& ctx, const fs::path& jsonl) {
  auto in = spate::read_json_lines<Row>(
      ctx, jsonl.string(), {}, spate::json_field(&Row::ts, "ts"), spate::json_field(&Row::user_id, "user_id"),
      spate::json_field(&Row::session_id, "session_id"), spate::json_field(&Row::event, "event"),
      spate::json_field(&Row::campaign_id, "campaign_id"), spate::json_field(&Row::ad_id, "ad_id"),
      spate::json_field(&Row::url, "url"), spate::json_field(&Row::country, "country"),
      spate::json_field(&Row::device, "device"), spate::json_field(&Row::cost_micros, "cost_micros"));
  return static_cast<std::int64_t>(in.records().count());
}

}  // namespace

constexpr std::string_view kUsage =
    "usage: spate-bench-formats [--rows N] [--repeat R] [--data-dir DIR]\n"
    "  --rows N        rows of the click log, written as CSV and JSON lines (default 10000000)\n"
    "  --repeat R      runs of each contender; the table shows the median (default 3)\n"
    "  --data-dir DIR  where the files are made if missing (default <bin-dir>/../bench-data)\n"
    "  --only TEXT     run only the contenders whose name ends with TEXT (to profile one of them)\n";

int main(int argc, char** argv) {
  spate::serve_if_executor();
  if (spate::help_requested(argc, argv)) {
    fmt::print("{}", kUsage);
    return 0;
  }
  try {
    std::int64_t rows = 10'000'000;
    int repeat = 3;
    fs::path data_dir = fs::path(argv[0]).parent_path() / ".." / "bench-data";
    std::string only;
    for (int i = 1; i < argc; ++i) {
      std::string_view a = argv[i];
      if (a == "--rows" && i + 1 < argc) {
        rows = static_cast<std::int64_t>(spate_bench::whole_number(a, argv[++i]));
      } else if (a == "--repeat" && i + 1 < argc) {
        repeat = static_cast<int>(spate_bench::whole_number(a, argv[++i]));
      } else if (a == "--data-dir" && i + 1 < argc) {
        data_dir = argv[++i];
      } else if (a == "--only" && i + 1 < argc) {
        only = argv[++i];
      } else {
        throw spate_bench::UsageError{spate::unknown_argument(a, {"--rows", "--repeat", "--data-dir", "--only"})};
      }
    }
    fs::create_directories(data_dir);
    const fs::path tsv = data_dir / fmt::format("clicks-{}.tsv", rows);
    const fs::path csv = data_dir / fmt::format("clicks-{}.csv", rows);
    const fs::path jsonl = data_dir / fmt::format("clicks-{}.jsonl", rows);
    if (!fs::exists(tsv)) {
      fmt::print("generating {} rows into {} (once)\n", rows, tsv.string());
      std::fflush(stdout);
      spate::generate_clicks({.rows = rows, .seed = 1, .out = tsv.string() + ".partial",
                              .campaigns_out = (data_dir / "campaigns.tsv").string()});
      fs::rename(tsv.string() + ".partial", tsv);
    }
    if (!fs::exists(csv) || !fs::exists(jsonl)) {
      fmt::print("writing {} and {} (once)\n", csv.string(), jsonl.string());
      std::fflush(stdout);
      convert(tsv, csv, jsonl);
    }
    std::uint64_t checksum = 0;
    // Warm the page cache: the targets are for a warm cache.
    handwritten_csv(csv, checksum);
    handwritten_json(jsonl, checksum);

    struct Result {
      std::string name;
      double seconds;
    };
    std::vector<Result> results;
    auto add = [&](std::string name, const std::function<std::int64_t()>& run) {
      if (!name.ends_with(only)) return;
      const Timing t = seconds_of(run, rows, name, repeat);
      const double s = t.wall;
      results.push_back({name, s});
      fmt::print("{:<40} {:>8.3f} s {:>12.0f} rows/s {:>8.3f} s CPU\n", name, s, static_cast<double>(rows) / s, t.cpu);
      std::fflush(stdout);
    };
    add("hand-written CSV", [&] { return handwritten_csv(csv, checksum); });
    add("hand-written JSON (simdjson)", [&] { return handwritten_json(jsonl, checksum); });
    for (const char* master : {"local[1]", "local[2]"}) {
      spate::Options options;
      options.master = master;
      options.progress = false;
      options.ui = false;
      spate::Context ctx(options);
      const std::string m = master;
      add("spate " + m + " TSV read_click_log", [&] {
        return static_cast<std::int64_t>(spate::read_click_log(ctx, tsv.string()).records().count());
      });
      add("spate " + m + " read_csv", [&] { return read_csv_rows<ClickRow>(ctx, csv); });
      add("spate " + m + " read_json_lines", [&] { return read_json_rows<ClickRow>(ctx, jsonl); });
      add("spate " + m + " read_csv, views", [&] { return read_csv_rows<ClickRowView>(ctx, csv); });
      add("spate " + m + " read_json_lines, views", [&] { return read_json_rows<ClickRowView>(ctx, jsonl); });
    }
    auto time_of = [&](const std::string& name) {
      for (const auto& r : results)
        if (r.name == name) return r.seconds;
      return 0.0;
    };
    if (!only.empty()) return 0;  // the ratios need every contender
    fmt::print("\nratios of wall time (lower is faster; issue 17's target: each reader within 2x of the TSV reader)\n");
    for (const char* m : {"local[1]", "local[2]"}) {
      const std::string p = std::string("spate ") + m;
      const double tsv_s = time_of(p + " TSV read_click_log");
      fmt::print("{:<10} read_csv / TSV reader {:.2f}x   read_json_lines / TSV reader {:.2f}x\n", m,
                 time_of(p + " read_csv") / tsv_s, time_of(p + " read_json_lines") / tsv_s);
      fmt::print("{:<10} with string_view rows, as the TSV reader's ClickView: read_csv {:.2f}x   read_json_lines {:.2f}x\n", m,
                 time_of(p + " read_csv, views") / tsv_s, time_of(p + " read_json_lines, views") / tsv_s);
      fmt::print("{:<10} read_csv / hand-written CSV {:.2f}x   read_json_lines / hand-written JSON {:.2f}x\n", m,
                 time_of(p + " read_csv") / time_of("hand-written CSV"),
                 time_of(p + " read_json_lines") / time_of("hand-written JSON (simdjson)"));
    }
    fmt::print("(checksum {})\n", checksum % 1000);
    return 0;
  } catch (const spate_bench::UsageError& e) {
    fmt::print(stderr, "{}\n", spate::usage_hint("spate-bench-formats", e.message));
    return 2;
  } catch (const BenchError& e) {
    fmt::print(stderr, "spate-bench-formats: {}\n", e.message);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "spate-bench-formats: {}\n", e.what());
    return 1;
  }
}
