// The bundled spate-clicks program, run as a user runs it, against the reference computation.
#include <catch2/catch.hpp>
#include <zlib.h>
#include <zstd.h>

#include <spate/clicklog_generator.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "clicklog_reference.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int exit_code;
  std::string out;  // the result file
  std::string err;  // standard error
};

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("spate-jobs-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

Run run_clicks(const std::string& args, const fs::path& dir) {
  fs::path out = dir / "result.tsv", err = dir / "stderr.txt";
  fs::remove(out);
  std::string cmd = spate_test::bin_dir() + "/spate-clicks " + args + " --out '" + out.string() +
                    "' 2> '" + err.string() + "'";
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, fs::exists(out) ? read_all(out) : "",
          read_all(err)};
}

void gzip_file(const fs::path& from, const fs::path& to) {
  std::string data = read_all(from);
  gzFile f = gzopen(to.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, data.data(), static_cast<unsigned>(data.size())) == static_cast<int>(data.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

void zstd_file(const fs::path& from, const fs::path& to) {
  std::string data = read_all(from);
  std::string buf(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress(buf.data(), buf.size(), data.data(), data.size(), 3);
  REQUIRE(!ZSTD_isError(n));
  std::ofstream(to, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(n));
}

const std::array<const char*, 5> kJobs{"ctr", "uniques", "join", "sessions", "wordcount"};

}  // namespace

TEST_CASE("spate-clicks prints exactly the reference result of every job, skipping bad lines",
          "[clicklog][jobs]") {
  TempDir dir;
  fs::path log = dir.path / "clicks.tsv";
  auto summary = spate::generate_clicks(
      {.rows = 40000, .seed = 11, .users = 5000, .bad_rate = 0.02, .out = log.string()});
  REQUIRE(summary.malformed_lines > 0);
  fs::path campaigns = dir.path / "campaigns.tsv";
  for (const char* master : {"local[1]", "local[3]", "local-cluster[3]"}) {
    for (const char* job : kJobs) {
      INFO("job " << job << " master " << master);
      Run r = run_clicks(std::string(job) + " --input '" + log.string() + "' --master '" + master + "'",
                         dir.path);
      REQUIRE(r.exit_code == 0);
      CHECK(r.out == spate::test::reference_job(job, {log.string()}, campaigns.string()));
      CHECK(r.err.find("skipped " + std::to_string(summary.malformed_lines) + " malformed lines") !=
            std::string::npos);
    }
  }
}

TEST_CASE("spate-clicks gives the same result on a clean log and on the same log with bad lines",
          "[clicklog][jobs]") {
  TempDir dir;
  fs::create_directories(dir.path / "clean");
  fs::create_directories(dir.path / "dirty");
  spate::generate_clicks({.rows = 20000, .seed = 5, .users = 3000, .out = (dir.path / "clean" / "clicks.tsv").string()});
  spate::generate_clicks({.rows = 20000, .seed = 5, .users = 3000, .bad_rate = 0.05,
                          .out = (dir.path / "dirty" / "clicks.tsv").string()});
  for (const char* job : kJobs) {
    INFO("job " << job);
    Run clean = run_clicks(std::string(job) + " --input '" + (dir.path / "clean" / "clicks.tsv").string() + "'", dir.path);
    Run dirty = run_clicks(std::string(job) + " --input '" + (dir.path / "dirty" / "clicks.tsv").string() + "'", dir.path);
    REQUIRE(clean.exit_code == 0);
    REQUIRE(dirty.exit_code == 0);
    CHECK(clean.out == dirty.out);
    CHECK(clean.err.find("skipped 0 malformed lines") != std::string::npos);
  }
}

TEST_CASE("spate-clicks reads a directory of plain, gzip and zstd parts like the single file",
          "[clicklog][jobs]") {
  TempDir dir;
  fs::path whole = dir.path / "whole.tsv";
  // Three logs with different seeds; each part keeps its own header line.
  std::vector<std::string> parts;
  for (int i = 0; i < 3; ++i) {
    fs::path p = dir.path / ("part" + std::to_string(i) + ".tsv");
    spate::generate_clicks({.rows = 8000, .seed = 100u + i, .users = 2000, .bad_rate = 0.01,
                            .out = p.string(), .campaigns_out = (dir.path / "campaigns.tsv").string()});
    parts.push_back(p.string());
  }
  fs::path input = dir.path / "input";
  fs::create_directories(input);
  fs::copy_file(parts[0], input / "a.tsv");
  gzip_file(parts[1], input / "b.tsv.gz");
  zstd_file(parts[2], input / "c.tsv.zst");
  fs::copy_file(dir.path / "campaigns.tsv", dir.path / "dim.tsv");
  for (const char* job : kJobs) {
    INFO("job " << job);
    Run r = run_clicks(std::string(job) + " --input '" + input.string() + "' --campaigns '" +
                           (dir.path / "dim.tsv").string() + "'",
                       dir.path);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == spate::test::reference_job(job, parts, (dir.path / "dim.tsv").string()));
  }
}

TEST_CASE("spate-clicks --strict fails on the first bad line with file, line number and rule",
          "[clicklog][jobs]") {
  TempDir dir;
  fs::path log = dir.path / "clicks.tsv";
  {
    std::ofstream f(log, std::ios::binary);
    f << "ts\tuser_id\tsession_id\tevent\tcampaign_id\tad_id\turl\tcountry\tdevice\tcost_micros\n";
    f << "1709251200000\tu1\ts1\timpression\t7\t700\t/p/a/1\tUS\tmobile\t10\n";
    f << "17092512x0000\tu1\ts1\timpression\t7\t700\t/p/a/1\tUS\tmobile\t10\n";
  }
  Run lenient = run_clicks("ctr --input '" + log.string() + "'", dir.path);
  REQUIRE(lenient.exit_code == 0);
  CHECK(lenient.err.find("skipped 1 malformed lines") != std::string::npos);

  Run strict = run_clicks("ctr --strict --input '" + log.string() + "'", dir.path);
  CHECK(strict.exit_code != 0);
  CHECK(strict.err.find(log.string() + ":3:") != std::string::npos);
  CHECK(strict.err.find("field 1 (ts)") != std::string::npos);
  CHECK(strict.out.empty());
}

TEST_CASE("spate-clicks explains a bad command line", "[clicklog][jobs]") {
  TempDir dir;
  Run no_job = run_clicks("--input x", dir.path);
  CHECK(no_job.exit_code == 2);
  CHECK(no_job.err.find("no JOB given") != std::string::npos);
  Run bad_master = run_clicks("ctr --input x --master local[zero]", dir.path);
  CHECK(bad_master.exit_code != 0);
  CHECK(bad_master.err.find("--master local[zero]") != std::string::npos);
  Run missing = run_clicks("ctr --input /nonexistent/clicks.tsv", dir.path);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("/nonexistent/clicks.tsv") != std::string::npos);
}
