// Hostile input and output conditions, with real files, processes and file systems: bytes that
// are not text (invalid UTF-8, NUL), a 100 MB line, truncated compressed files, files that vanish
// or change after planning, directories with nothing to read, a save killed with SIGKILL, and a
// full disk while spilling and while writing output. Each error names what and where.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "process_support.hpp"
#include "spate/clicklog_reader.hpp"
#include "test_support.hpp"

using namespace spate_test;

namespace {

namespace fs = std::filesystem;

#define HOSTILE_MASTER() GENERATE(as<std::string>{}, "local[2]", "local-cluster[2]")

const std::string kHeader =
    "ts\tuser_id\tsession_id\tevent\tcampaign_id\tad_id\turl\tcountry\tdevice\tcost_micros";

/// A valid click-log row with the given url.
std::string row(const std::string& url) {
  return "1709251200000\tu1\ts1\timpression\t7\t700\t" + url + "\tUS\tmobile\t10";
}

/// The what() of the spate::error f throws (a job_error from an action, an io_error from
/// planning); fails the test if it throws nothing.
std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const spate::error& e) {
    return e.what();
  }
  FAIL("expected a spate::error");
  return "";
}

/// A line as the strict click-log reader shows it in a message: tabs as spaces, control bytes,
/// invalid UTF-8 and backslashes escaped.
std::string shown(const std::string& line, const std::vector<std::size_t>& invalid_at = {}) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto u = static_cast<unsigned char>(line[i]);
    bool invalid = std::find(invalid_at.begin(), invalid_at.end(), i) != invalid_at.end();
    if (line[i] == '\t')
      out += ' ';
    else if (line[i] == '\\')
      out += "\\\\";
    else if (invalid || u < 0x20 || u == 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += line[i];
  }
  return out;
}

/// The strict reader's message for a malformed line.
std::string strict_message(const std::string& path, int line, std::uint64_t offset,
                           const std::string& reason, const std::string& shown_line) {
  return fmt::format("{}:{}: malformed click-log line (byte offset {}): {}: \"{}\"", path, line,
                     offset, reason, shown_line);
}

/// Sets a file's modification time to 2020-01-01 00:00:00 UTC, so that any later write shows.
void set_old_mtime(const std::string& path) {
  struct timespec times[2] = {{1577836800, 0}, {1577836800, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}
const std::string kOldMtimeText = "2020-01-01 00:00:00.000000000 UTC";

std::string gzip_bytes(const std::string& data) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string zstd_bytes(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  REQUIRE(!ZSTD_isError(n));
  out.resize(n);
  return out;
}

/// The names in dir, sorted.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// True in a sanitizer build, whose allocator keeps freed memory for a while.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

/// Peak resident memory of this process in bytes since the last reset_peak_rss().
std::uint64_t peak_rss() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

/// Resets the peak to the current resident memory; false where the kernel does not allow it.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

}  // namespace

// ---- 1, 2: bytes that are not text ----

TEST_CASE(
    "text_file passes invalid UTF-8 and NUL bytes through unchanged and never cuts a line at a NUL",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  using namespace std::string_literals;
  const std::vector<std::string> lines = {"plain",       "\xff\xfe not UTF-8",     "a\0b\0c"s,
                                          "\0"s,         "ends with NUL\0"s,       "\xc3\x28",
                                          "caf\xc3\xa9", "\xed\xa0\x80 surrogate", "x\0y"s};
  std::string content;
  for (const auto& l : lines) content += l + "\n";
  content.pop_back();  // the last line without '\n'
  std::string path = dir.file("binary.txt");
  write_file(path, content);

  auto got =
      ctx.text_file(path, 3).map([](std::string_view l) { return std::string(l); }).collect();
  CHECK(same(got, lines));
  // Written back out, the bytes are the same again.
  std::string out = dir.file("out");
  ctx.text_file(path, 3).save_as_text_file(out);
  std::string written;
  for (const auto& name : names_in(out))
    if (name.starts_with("part-")) written += read_file(out + "/" + name);
  CHECK(written == content + "\n");
}

TEST_CASE(
    "read_click_log counts a line with invalid UTF-8 as malformed, and strict mode names file, line "
    "and field",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string bad_url = row("/p/\xff/1");  // field 7, byte 0xff
  const std::string bad_user = "1709251200001\tu\xc3\ts1\tclick\t7\t700\t/p/a\tUS\tmobile\t10";
  const std::string good_utf8 = row("/p/caf\xc3\xa9/2");  // non-ASCII but valid
  std::string path = dir.file("clicks.tsv");
  write_file(path, kHeader + "\n" + row("/p/a/1") + "\n" + bad_url + "\n" + good_utf8 + "\n" +
                       bad_user + "\n");

  auto log = spate::read_click_log(ctx, path);
  auto urls =
      log.records().map([](const spate::ClickView& c) { return std::string(c.url); }).collect();
  CHECK(same(urls, std::vector<std::string>{"/p/a/1", "/p/caf\xc3\xa9/2"}));
  CHECK(log.malformed_lines() == 2);

  // Alone in its file, so that it is the line a strict job fails on whichever task runs first.
  std::string strict_path = dir.file("strict.tsv");
  write_file(strict_path,
             kHeader + "\n" + row("/p/a/1") + "\n" + bad_url + "\n" + good_utf8 + "\n");
  auto strict = spate::read_click_log(ctx, strict_path, {.strict = true});
  std::string message = error_text([&] { strict.records().count(); });
  std::uint64_t offset = kHeader.size() + 1 + row("/p/a/1").size() + 1;
  std::size_t ff = bad_url.find('\xff');
  CHECK_THAT(message, Catch::EndsWith(strict_message(strict_path, 3, offset,
                                                     "field 7 (url) is not valid UTF-8",
                                                     shown(bad_url, {ff}))));
  // The message itself is valid UTF-8: the bad byte is shown as \xff.
  CHECK(message.find('\xff') == std::string::npos);
}

TEST_CASE(
    "read_click_log keeps a NUL inside a text field and rejects one in a number, naming it whole",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  using namespace std::string_literals;
  // NUL is U+0000, valid UTF-8: in the url it is data (CLICKLOG.md's rules do not forbid it).
  const std::string nul_url = row("/p/a\0b/1"s);
  const std::string nul_ts =
      "1709\0"s + "251200000\tu1\ts1\timpression\t7\t700\t/p/c\tUS\tmobile\t10";
  std::string path = dir.file("nul.tsv");
  write_file(path, kHeader + "\n" + nul_url + "\n" + nul_ts + "\n" + row("/p/d") + "\n");

  auto log = spate::read_click_log(ctx, path);
  auto urls =
      log.records().map([](const spate::ClickView& c) { return std::string(c.url); }).collect();
  CHECK(same(urls, std::vector<std::string>{"/p/a\0b/1"s, "/p/d"}));
  CHECK(urls[0].size() == 8);  // not cut at the NUL
  CHECK(log.malformed_lines() == 1);

  auto strict = spate::read_click_log(ctx, path, {.strict = true});
  std::string message = error_text([&] { strict.records().count(); });
  std::uint64_t offset = kHeader.size() + 1 + nul_url.size() + 1;
  // The whole line is in the message, the NUL as \x00: a raw NUL would end what() there.
  CHECK_THAT(message,
             Catch::EndsWith(strict_message(
                 path, 3, offset, "field 1 (ts) is not 1-18 ASCII digits", shown(nul_ts))));
  CHECK(message.find('\0') == std::string::npos);
  CHECK(std::strlen(message.c_str()) == message.size());
}

// ---- 3: a line of 100 MB ----

namespace {

constexpr std::uint64_t kLongLine = 100'000'000;

/// A click log whose third line is kLongLine bytes without a tab, written in 1 MB pieces.
const std::string& long_line_log() {
  static TempDir dir;
  static std::string path = [] {
    std::string p = dir.file("long.tsv");
    std::ofstream out(p, std::ios::binary);
    out << kHeader << '\n' << row("/p/a") << '\n';
    std::string chunk(1'000'000, 'x');
    for (std::uint64_t i = 0; i < kLongLine / chunk.size(); ++i) out << chunk;
    out << '\n' << row("/p/b") << '\n';
    REQUIRE(out.good());
    return p;
  }();
  return path;
}

}  // namespace

TEST_CASE("text_file reads a 100 MB line whole, holding it about once", "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  const std::string& path = long_line_log();
  bool measured = master == "local[2]" && !kSanitized && reset_peak_rss();
  std::uint64_t before = peak_rss();
  auto sizes = ctx.text_file(path, 2).map([](std::string_view l) { return l.size(); }).collect();
  std::uint64_t growth = peak_rss() - before;
  CHECK(same(sizes, std::vector<std::size_t>{kHeader.size(), row("/p/a").size(), kLongLine,
                                             row("/p/b").size()}));
  if (measured) {
    // The read buffer doubles up to 128 MiB, copying what it holds on the way: the old buffer
    // (under one line) and the new one (one line) live together once, so under two copies.
    INFO("peak memory grew by " << growth / 1000000 << " MB");
    CHECK(growth < 2 * kLongLine);
  }
}

TEST_CASE("read_click_log skips a 100 MB line as malformed and strict mode names file, line and rule",
          "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  const std::string& path = long_line_log();
  auto log = spate::read_click_log(ctx, path, {.min_partitions = 2});
  CHECK(log.records().count() == 2);
  CHECK(log.malformed_lines() == 1);

  auto strict = spate::read_click_log(ctx, path, {.strict = true, .min_partitions = 2});
  std::string message = error_text([&] { strict.records().count(); });
  std::uint64_t offset = kHeader.size() + 1 + row("/p/a").size() + 1;
  CHECK_THAT(message,
             Catch::EndsWith(strict_message(path, 3, offset, "expected 10 tab-separated fields",
                                            std::string(200, 'x') + "...")));
}

// ---- 4: truncated compressed files ----

TEST_CASE(
    "a truncated gzip or zstd input fails the job naming the file and the offset where it ends",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  std::string content = kHeader + "\n";
  for (int i = 0; i < 5000; ++i) content += row("/p/" + std::to_string(i * 7919 % 10007)) + "\n";
  struct Case {
    std::string name, bytes, kind, unit;
  };
  for (const Case& c : {Case{"t.tsv.gz", gzip_bytes(content), "gzip", "member"},
                        Case{"t.tsv.zst", zstd_bytes(content), "zstd", "frame"}}) {
    std::string path = dir.file(c.name);
    std::size_t cut = c.bytes.size() / 2;
    write_file(path, c.bytes.substr(0, cut));
    std::string expected =
        fmt::format("truncated {} file '{}': it ends at compressed offset {} inside a {}", c.kind,
                    path, cut, c.unit);
    CHECK_THAT(error_text([&] { ctx.text_file(path).count(); }), Catch::EndsWith(expected));
    CHECK_THAT(error_text([&] { spate::read_click_log(ctx, path).records().count(); }),
               Catch::EndsWith(expected));
  }
}

// ---- 5: files that vanish or change after planning ----

TEST_CASE("a file removed after planning fails the job saying it is gone since planning",
          "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  std::string path = dir.file("gone.tsv");
  write_file(path, kHeader + "\n" + row("/p/a") + "\n");
  auto lines = ctx.text_file(path);
  auto log = spate::read_click_log(ctx, path);
  fs::remove(path);
  std::string expected = fmt::format(
      "cannot open input file '{}': No such file or directory; it was removed or renamed since the "
      "job was planned",
      path);
  CHECK_THAT(error_text([&] { lines.count(); }), Catch::EndsWith(expected));
  CHECK_THAT(error_text([&] { log.records().count(); }), Catch::EndsWith(expected));
}

TEST_CASE(
    "a file that grew, shrank or was replaced after planning fails the job as changed since "
    "planned",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  auto ctx = make_context(master);
  TempDir dir;
  const std::string original = "a\nb\n";
  struct Change {
    std::string name;
    std::function<void(const std::string&)> apply;
    std::uint64_t new_size;
    std::size_t new_lines;
  };
  std::vector<Change> changes = {
      {"grew", [](const std::string& p) { std::ofstream(p, std::ios::app) << "c\n"; }, 6, 3},
      {"shrank", [](const std::string& p) { fs::resize_file(p, 2); }, 2, 1},
      {"rewritten in place, same size",
       [](const std::string& p) {
         std::ofstream(p, std::ios::binary | std::ios::trunc) << "x\ny\n";
       },
       4, 2},
      {"replaced by another file of the same size",
       [&dir](const std::string& p) {
         write_file(dir.file("other"), "x\ny\n");
         fs::rename(dir.file("other"), p);
       },
       4, 2},
  };
  for (const Change& change : changes) {
    INFO(change.name);
    std::string path = dir.file("changing.txt");
    write_file(path, original);
    set_old_mtime(path);
    auto lines = ctx.text_file(path, 2);
    change.apply(path);
    std::string expected = fmt::format(
        "input file '{}' changed since the job was planned: it had {} bytes, modified {}; it now "
        "has {} bytes, modified ",
        path, original.size(), kOldMtimeText, change.new_size);
    CHECK_THAT(error_text([&] { lines.count(); }), Catch::Contains(expected));
    // Planned anew, the changed file is read as it is now.
    CHECK(ctx.text_file(path, 2).count() == change.new_lines);
  }
}

TEST_CASE("a file changed while its split is being read fails at the end of the split",
          "[hostile]") {
  TempDir dir;
  std::string path = dir.file("live.txt");
  write_file(path, "one\ntwo\nthree\n");
  set_old_mtime(path);
  auto splits = spate::detail::plan_splits(spate::detail::list_input_files(path), 1 << 20);
  REQUIRE(splits.size() == 1);
  spate::detail::LineReader reader(splits[0]);
  std::string_view line;
  REQUIRE(reader.next(line));
  CHECK(line == "one");
  std::ofstream(path, std::ios::app) << "four\n";  // the reader has the first 14 bytes already
  REQUIRE(reader.next(line));
  REQUIRE(reader.next(line));
  CHECK(line == "three");
  try {
    reader.next(line);
    FAIL("expected io_error");
  } catch (const spate::io_error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(fmt::format(
                             "input file '{}' changed since the job was planned: it had 14 bytes, "
                             "modified {}; it now has 19 bytes, modified ",
                             path, kOldMtimeText)));
  }
}

// ---- 6: directories with nothing to read ----

TEST_CASE(
    "a directory with no readable file fails at planning with a message naming it and what it "
    "holds",
    "[hostile]") {
  auto ctx = make_context("local[2]");
  TempDir tmp;
  auto fails_with = [&](const std::string& path, const std::string& expected) {
    CHECK(error_text([&] { ctx.text_file(path); }) == expected);
    CHECK(error_text([&] { spate::read_click_log(ctx, path); }) == expected);
  };
  std::string empty = tmp.file("empty");
  fs::create_directory(empty);
  fails_with(empty, fmt::format("input directory '{}' is empty: there is no file to read", empty));

  std::string meta = tmp.file("meta");
  fs::create_directories(meta + "/sub");
  write_file(meta + "/sub/data.txt", "not read: subdirectories are not descended\n");
  write_file(meta + "/_SUCCESS", "");
  write_file(meta + "/.part-00000.crc", "x");
  fails_with(meta, fmt::format("input directory '{}' has no file to read: it holds only 2 hidden "
                               "entries (names starting with '_' or '.' are skipped), 1 "
                               "subdirectory (subdirectories are not read)",
                               meta));

  // As root, permissions do not make a file unreadable; entries that are not files do.
  std::string special = tmp.file("special");
  fs::create_directory(special);
  REQUIRE(::mkfifo((special + "/fifo").c_str(), 0644) == 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = special + "/socket";
  REQUIRE(sock_path.size() < sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(sock);
  int specials = 2;
  if (::mknod((special + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) ++specials;
  fails_with(special,
             fmt::format("input directory '{}' has no file to read: it holds only {} FIFOs, "
                         "sockets or devices (only regular files are read)",
                         special, specials));
  // Named by itself, a FIFO is refused rather than read (a read could wait forever).
  fails_with(
      special + "/fifo",
      fmt::format("input path '{}/fifo' is neither a regular file nor a directory", special));

  // A link to nothing names data that is missing: an error even next to a good file.
  std::string links = tmp.file("links");
  fs::create_directory(links);
  write_file(links + "/good.txt", "g\n");
  fs::create_symlink(links + "/missing.txt", links + "/dangling.txt");
  fails_with(links,
             fmt::format("input file '{0}/dangling.txt' is a symbolic link to '{0}/missing.txt', "
                         "which does not exist",
                         links));
}

// ---- 7: a save killed with SIGKILL, then run again ----

namespace {

constexpr int kSaveParts = 8;

/// The lines the child's job writes into part p.
std::string expected_part(int p) {
  std::string s;
  for (int i = p * 100; i < (p + 1) * 100; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

}  // namespace

// Run by the test below in a process of its own: saves 8 partitions, each after 50 ms, or with
// SPATE_HOSTILE_SAVE_SLOW, all but the first after 10 s (a run to be killed once part 0 is in).
TEST_CASE("hostile child: saves slow partitions as text", "[.][hostile_save_child]") {
  const char* out = std::getenv("SPATE_HOSTILE_SAVE_DIR");
  if (out == nullptr) return;
  bool slow = std::getenv("SPATE_HOSTILE_SAVE_SLOW") != nullptr;
  spate::Context ctx(spate::Options{.master = "local[2]", .ui = false});
  std::vector<int> numbers(kSaveParts * 100);
  for (int i = 0; i < kSaveParts * 100; ++i) numbers[i] = i;
  try {
    ctx.parallelize(numbers, kSaveParts)
        .map_partitions([slow](std::size_t p, std::vector<int> v) {
          std::this_thread::sleep_for(std::chrono::milliseconds(slow && p > 0 ? 10'000 : 50));
          std::vector<std::string> lines;
          for (int x : v) lines.push_back("line " + std::to_string(x));
          return lines;
        })
        .save_as_text_file(out);
  } catch (const spate::error& e) {
    std::fprintf(stderr, "%s\n", e.what());  // for the parent to read
    throw;
  }
}

TEST_CASE("a save killed with SIGKILL leaves no _SUCCESS, and a rerun replaces its output cleanly",
          "[hostile]") {
  TempDir tmp;
  std::string out = tmp.file("out");
  std::vector<std::string> child_args{self_exe(), "hostile child: saves slow partitions as text"};
  std::map<std::string, std::string> env{{"SPATE_HOSTILE_SAVE_DIR", out}};
  {
    auto slow_env = env;
    slow_env["SPATE_HOSTILE_SAVE_SLOW"] = "1";
    Child child(child_args, slow_env, tmp.file("killed.err"));
    // Kill it once part 0 is committed: the task of part 1 is writing it, the others wait.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    auto has_part = [&] {
      std::error_code ec;
      for (fs::directory_iterator it(out, ec); !ec && it != fs::directory_iterator();
           it.increment(ec))
        if (it->path().filename().string().starts_with("part-")) return true;
      return false;
    };
    while (!has_part() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    REQUIRE(has_part());
    REQUIRE(::kill(child.pid, SIGKILL) == 0);
    CHECK(child.wait_exit(10s) == 128 + SIGKILL);
  }
  // Clearly incomplete: no marker, only part 0 (whole: parts appear by rename only), and in
  // _temporary the file of part 1 that was being written.
  CHECK(same(names_in(out), std::vector<std::string>{"_temporary", "part-00000"}));
  CHECK(read_file(out + "/part-00000") == expected_part(0));
  bool part_1_in_progress = false;
  for (const auto& name : names_in(out + "/_temporary"))
    part_1_in_progress |= name.starts_with("part-00001.attempt-1.");
  CHECK(part_1_in_progress);

  // The same job again: it clears the leftovers and ends with exactly its parts and _SUCCESS.
  {
    Child rerun(child_args, env, tmp.file("rerun.err"));
    int code = rerun.wait_exit(60s);
    INFO(rerun.stderr_text());
    REQUIRE(code == 0);
  }
  std::vector<std::string> want{"_SUCCESS"};
  for (int p = 0; p < kSaveParts; ++p) want.push_back(fmt::format("part-{:05}", p));
  CHECK(same(names_in(out), want));
  for (int p = 0; p < kSaveParts; ++p)
    CHECK(read_file(fmt::format("{}/part-{:05}", out, p)) == expected_part(p));

  // A complete output is never cleared: a third run is refused and leaves it as it is.
  {
    Child third(child_args, env, tmp.file("third.err"));
    CHECK(third.wait_exit(60s) != 0);
    CHECK_THAT(third.stderr_text(), Catch::Contains(fmt::format(
                                        "output directory '{}' already holds a complete output (it "
                                        "has _SUCCESS); remove it or choose another directory",
                                        out)));
  }
  CHECK(same(names_in(out), want));
}

// ---- 8: a full disk ----

namespace {

/// A 2 MB tmpfs mounted for the test, unmounted by the destructor; mounted() is false where
/// mounting is not allowed (or HOSTILE_TEST_NO_MOUNT is set, to try the fallback).
class SmallFs {
 public:
  SmallFs() : dir_(fs::temp_directory_path() / ("spate-small-fs-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    mounted_ = std::getenv("HOSTILE_TEST_NO_MOUNT") == nullptr &&
               ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m") == 0;
  }
  ~SmallFs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  SmallFs(const SmallFs&) = delete;
  SmallFs& operator=(const SmallFs&) = delete;

  bool mounted() const { return mounted_; }
  std::string str() const { return dir_.string(); }
  /// Bytes in use on the file system.
  std::uint64_t used() const {
    struct statvfs st {};
    REQUIRE(::statvfs(dir_.c_str(), &st) == 0);
    return (st.f_blocks - st.f_bfree) * st.f_frsize;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

std::vector<std::pair<long, long>> spill_input() {
  std::vector<std::pair<long, long>> v(600'000);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = {static_cast<long>((i * 7919) % 100'003), static_cast<long>(i)};
  return v;
}

/// The line i of the output written to a full disk: 200 bytes.
std::string full_disk_line(int i) { return fmt::format("{:0>199}", i); }
constexpr int kFullDiskLines = 16'000;  // 3.2 MB in 8 parts of 400 KB, on 2 MB
constexpr int kFullDiskParts = 8;

/// The error of a sort that spills to spill_dir, where there is not enough room.
std::string sort_spilling_to(const std::string& master, const std::string& spill_dir) {
  ScopedEnv env("SPATE_SPILL_DIR", spill_dir);
  spate::Context ctx(spate::Options{
      .master = master, .task_attempts = 2, .executor_memory = 1 << 20, .ui = false});
  return error_text([&] { ctx.parallelize(spill_input(), 3).sort_by_key(true, 2).count(); });
}

/// The error of a save of kFullDiskLines lines into out, where there is not enough room.
std::string save_to(const std::string& master, const std::string& out) {
  auto ctx = make_context(master, 2);
  std::vector<int> numbers(kFullDiskLines);
  for (int i = 0; i < kFullDiskLines; ++i) numbers[i] = i;
  return error_text([&] {
    ctx.parallelize(numbers, kFullDiskParts)
        .map([](int i) { return full_disk_line(i); })
        .save_as_text_file(out);
  });
}

}  // namespace

// Run by the disk-full tests where mounting is not allowed: the same jobs with a file size
// limit (writes past it fail with EFBIG instead of ENOSPC). Writes the error to RESULT.
TEST_CASE("hostile child: a job with a file size limit", "[.][hostile_fsize_child]") {
  const char* kind = std::getenv("SPATE_HOSTILE_FSIZE_KIND");
  const char* target = std::getenv("SPATE_HOSTILE_FSIZE_TARGET");
  const char* result = std::getenv("SPATE_HOSTILE_FSIZE_RESULT");
  const char* master = std::getenv("SPATE_HOSTILE_FSIZE_MASTER");
  if (kind == nullptr || target == nullptr || result == nullptr || master == nullptr) return;
  ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit {
    256 << 10, 256 << 10
  };  // per file: below one 400 KB part
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  std::string error =
      std::string(kind) == "spill" ? sort_spilling_to(master, target) : save_to(master, target);
  std::ofstream(result) << error;
}

namespace {

/// Where the disk-full tests write and the reason their writes fail with: a 2 MB tmpfs, or,
/// where mounting is not allowed, a plain directory in a child with a 256 KB file size limit.
struct FullDisk {
  SmallFs small;
  TempDir fallback;
  std::string dir() const { return small.mounted() ? small.str() : fallback.str(); }
  std::string reason() const {
    return small.mounted() ? "No space left on device" : "File too large";
  }

  /// The error of job kind ("spill" or "save") on master, writing to target.
  std::string run(const std::string& kind, const std::string& master, const std::string& target) {
    if (small.mounted()) {
      WARN("disk full: a 2 MB tmpfs");
      return kind == "spill" ? sort_spilling_to(master, target) : save_to(master, target);
    }
    WARN("disk full: mounting is not allowed here, so a child with RLIMIT_FSIZE of 256 KB (EFBIG)");
    std::string result = fallback.file("result-" + kind);
    Child child({self_exe(), "hostile child: a job with a file size limit"},
                {{"SPATE_HOSTILE_FSIZE_KIND", kind},
                 {"SPATE_HOSTILE_FSIZE_TARGET", target},
                 {"SPATE_HOSTILE_FSIZE_RESULT", result},
                 {"SPATE_HOSTILE_FSIZE_MASTER", master}},
                fallback.file("child.err"));
    int code = child.wait_exit(120s);
    INFO(child.stderr_text());
    REQUIRE(code == 0);
    return read_file(result);
  }
};

}  // namespace

TEST_CASE(
    "a full disk while spilling fails the job naming the spill directory, and leaves nothing there",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  FullDisk disk;
  std::string spill = disk.dir() + "/spill";
  fs::create_directories(spill);
  std::string message = disk.run("spill", master, spill);
  CHECK_THAT(message,
             Catch::Contains(fmt::format("spilling to '{}' failed: {}", spill, disk.reason())));
  CHECK(fs::is_empty(spill));
  if (disk.small.mounted())
    CHECK(disk.small.used() < 64 * 1024);  // the spill files' space is free again
}

TEST_CASE(
    "a full disk while saving fails the job naming the part file, with no _SUCCESS and no cut part",
    "[hostile]") {
  auto master = HOSTILE_MASTER();
  FullDisk disk;
  std::string out = disk.dir() + "/out";
  std::string message = disk.run("save", master, out);
  CHECK_THAT(message,
             Catch::Contains(fmt::format("cannot write output file '{}/_temporary/part-", out)) &&
                 Catch::Contains(disk.reason()));
  CHECK_FALSE(fs::exists(out + "/_SUCCESS"));
  CHECK_FALSE(fs::exists(out + "/_temporary"));
  // A failed job removes its parts; any part still there must be whole, never cut short.
  for (const auto& name : names_in(out)) {
    INFO(name);
    REQUIRE(name.starts_with("part-"));
    int p = std::stoi(name.substr(5));
    std::string want;
    for (int i = p * (kFullDiskLines / kFullDiskParts);
         i < (p + 1) * (kFullDiskLines / kFullDiskParts); ++i)
      want += full_disk_line(i) + "\n";
    CHECK(read_file(out + "/" + name) == want);
  }
  if (disk.small.mounted()) CHECK(disk.small.used() < 64 * 1024);
}
