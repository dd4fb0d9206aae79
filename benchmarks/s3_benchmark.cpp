// spate-bench-s3: J1 (ctr) over a click log read from an S3 endpoint against the same file on
// local disk, and the peak RSS of reading one large object (it should be about the read buffer,
// not the object). The endpoint and credentials come from AWS_* (benchmarks/s3_bench.sh starts
// s3rver and sets them).
//   spate-bench-s3 [--rows N] [--object-mb M] [--repeat R] [--bucket B] [--data-dir DIR]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spate/clicklog_generator.hpp>
#include <spate/clicklog_reader.hpp>
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_support.hpp"
#include "s3/s3_client.hpp"

namespace {

namespace fs = std::filesystem;
using Counts = std::array<std::int64_t, 3>;
using Clock = std::chrono::steady_clock;

/// J1 as spate-clicks runs it; returns the number of result rows.
std::size_t ctr(const spate::Context& ctx, const std::string& input) {
  return spate::read_click_log(ctx, input)
      .records()
      .map([](const spate::ClickView& c) {
        Counts n{};
        n[static_cast<std::size_t>(c.event)] = 1;
        return std::pair{c.campaign_id, n};
      })
      .reduce_by_key([](Counts a, const Counts& b) {
        for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
        return a;
      })
      .sort_by_key()
      .collect()
      .size();
}

double seconds_of_ctr(const std::string& master, const std::string& input, std::size_t& rows) {
  spate::Options options;
  options.master = master;
  spate::Context ctx(options);
  auto start = Clock::now();
  rows = ctr(ctx, input);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Uploads mb MiB of text lines as one object, in 64 MiB multipart pieces.
void upload_large(spate::detail::S3Client& client, const std::string& bucket,
                  const std::string& key, std::uint64_t mb) {
  constexpr std::size_t kPiece = 64 << 20;
  std::string line = std::string(99, 'x') + "\n";
  std::string piece;
  piece.reserve(kPiece);
  while (piece.size() + line.size() <= kPiece) piece += line;
  std::string id = client.create_multipart(bucket, key);
  std::vector<std::string> etags;
  std::uint64_t total = mb << 20, sent = 0;
  while (sent < total) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), total - sent));
    etags.push_back(client.upload_part(bucket, key, id, static_cast<int>(etags.size() + 1),
                                       std::string_view(piece).substr(0, n)));
    sent += n;
  }
  client.complete_multipart(bucket, key, id, etags);
}

/// Counts the lines of uri in a child process (local[1]) and returns its peak RSS in MiB.
double child_peak_rss_mb(const std::string& self, const std::string& uri) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(self.c_str(), self.c_str(), "--count-lines", uri.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw spate::error("the line count of " + uri + " failed");
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) try {
  spate::serve_if_executor(argc, argv);  // local-cluster runs this program as its executors
  if (argc == 3 && std::string_view(argv[1]) == "--count-lines") {
    spate::Options options;
    options.master = "local[1]";
    spate::Context ctx(options);
    std::cout << ctx.text_file(argv[2]).count() << "\n";
    return 0;
  }
  std::uint64_t rows = 2'000'000, object_mb = 1024, repeat = 3;
  std::string bucket = "bench", data_dir = "build/bench-data/s3";
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) throw spate_bench::UsageError{flag + " needs a value"};
    std::string value = argv[i + 1];
    if (flag == "--rows") rows = spate_bench::whole_number(flag, value);
    else if (flag == "--object-mb") object_mb = spate_bench::whole_number(flag, value);
    else if (flag == "--repeat") repeat = spate_bench::whole_number(flag, value);
    else if (flag == "--bucket") bucket = value;
    else if (flag == "--data-dir") data_dir = value;
    else throw spate_bench::UsageError{spate::unknown_argument(flag, {"--rows", "--object-mb", "--repeat", "--bucket", "--data-dir"})};
  }
  spate::detail::S3Client client(spate::detail::S3Config::from_environment());
  std::cout << "endpoint " << client.config().endpoint() << "\n";

  fs::create_directories(data_dir);
  std::string log = (fs::path(data_dir) / fmt::format("clicks-{}.tsv", rows)).string();
  if (!fs::exists(log)) {
    spate::ClickGenOptions gen;
    gen.rows = static_cast<std::int64_t>(rows);
    gen.seed = 1;
    gen.out = log;
    spate::generate_clicks(gen);
  }
  std::string key = fmt::format("clicks-{}/clicks.tsv", rows);
  if (!client.head(bucket, key)) {
    std::ifstream in(log, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    client.put(bucket, key, bytes.str());
  }
  std::string uri = "s3://" + bucket + "/" + key;
  for (const char* master : {"local[2]", "local-cluster[2]"}) {
    std::vector<double> local, s3;
    std::size_t rows_local = 0, rows_s3 = 0;
    for (std::uint64_t r = 0; r < repeat; ++r) {
      local.push_back(seconds_of_ctr(master, log, rows_local));
      s3.push_back(seconds_of_ctr(master, uri, rows_s3));
    }
    if (rows_local != rows_s3) throw spate::error("J1 from S3 and from disk differ");
    double l = spate_bench::median(local), s = spate_bench::median(s3);
    std::cout << fmt::format("J1 {:>16} {} rows: local disk {:.2f} s, S3 {:.2f} s, S3/local {:.2f}x\n",
                             master, rows, l, s, s / l);
  }

  std::string big = fmt::format("large-{}mb/object.txt", object_mb);
  if (!client.head(bucket, big)) upload_large(client, bucket, big, object_mb);
  client.put(bucket, "small/object.txt", "one line\n");
  std::string self = fs::read_symlink("/proc/self/exe").string();
  double small_rss = child_peak_rss_mb(self, "s3://" + bucket + "/small/object.txt");
  double big_rss = child_peak_rss_mb(self, "s3://" + bucket + "/" + big);
  std::cout << fmt::format("peak RSS counting lines (local[1]): a 1-line object {:.1f} MiB, a {} MiB "
                           "object {:.1f} MiB (+{:.1f} MiB)\n",
                           small_rss, object_mb, big_rss, big_rss - small_rss);
  return 0;
} catch (const spate_bench::UsageError& e) {
  std::cerr << "spate-bench-s3: " << e.message << "\n";
  return 2;
} catch (const std::exception& e) {
  std::cerr << "spate-bench-s3: " << e.what() << "\n";
  return 1;
}
