// Tests of the output committer: part files appear once, by rename, and only committed output
// and the _SUCCESS marker of a finished job remain.
#include "io/part_file_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "spate/error.hpp"

namespace {

namespace fs = std::filesystem;

// The host-pid suffix a writer in this process gives its temporary files.
std::string writer_tag() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + "-" + std::to_string(::getpid());
}
using spate::detail::OutputCommitter;
using spate::detail::PartWriter;

/// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("spate-part-writer-" + std::to_string(::getpid()) + "-" +
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

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The names in dir, sorted.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("a part appears under its final name only after commit", "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  auto writer = committer.open_part(0, 1);
  writer->write_line("hello");
  writer->write_line("");
  writer->write_line("world");
  CHECK(writer->temp_path() == tmp.file("out/_temporary/part-00000.attempt-1." + writer_tag()));
  CHECK(fs::exists(writer->temp_path()));
  CHECK_FALSE(fs::exists(tmp.file("out/part-00000")));
  CHECK(writer->bytes_written() == 13);
  CHECK(writer->commit());
  CHECK(read_bytes(tmp.file("out/part-00000")) == "hello\n\nworld\n");
  CHECK_FALSE(fs::exists(writer->temp_path()));
  CHECK_THROWS_AS(writer->write_line("late"), spate::io_error);
}

TEST_CASE("a second commit of the same partition is discarded and the first one stays",
          "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  auto first = committer.open_part(3, 0);
  auto second = committer.open_part(3, 1);
  first->write_line("first");
  second->write_line("second");
  CHECK(first->commit());
  CHECK_FALSE(second->commit());
  CHECK(read_bytes(tmp.file("out/part-00003")) == "first\n");
  CHECK_FALSE(fs::exists(second->temp_path()));
  // A retry after the commit loses too.
  auto third = committer.open_part(3, 2);
  third->write_line("third");
  CHECK_FALSE(third->commit());
  CHECK(read_bytes(tmp.file("out/part-00003")) == "first\n");
}

TEST_CASE("concurrent attempts of one partition publish exactly one complete part",
          "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  constexpr int kAttempts = 8;
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    threads.emplace_back([&, attempt] {
      auto writer = committer.open_part(7, attempt);
      for (int i = 0; i < 1000; ++i) writer->write_line("attempt " + std::to_string(attempt));
      if (writer->commit()) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wins == 1);
  std::string content = read_bytes(tmp.file("out/part-00007"));
  std::string line = content.substr(0, content.find('\n') + 1);
  std::string expected;
  for (int i = 0; i < 1000; ++i) expected += line;
  CHECK(content == expected);  // one attempt's output, whole
  CHECK(names_in(tmp.file("out/_temporary")) == std::vector<std::string>{"_lock"});  // the job's own
}

TEST_CASE("parts committed from several threads all appear", "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  std::atomic<int> wins{0};  // Catch2 assertions are not thread-safe: count, check after join
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t p = static_cast<std::size_t>(t); p < 40; p += 4) {
        auto writer = committer.open_part(p, 0);
        writer->write_line("partition " + std::to_string(p));
        if (writer->commit()) ++wins;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wins == 40);
  committer.finish();
  std::vector<std::string> names = names_in(tmp.file("out"));
  REQUIRE(names.size() == 41);
  CHECK(names.back() == "part-00039");
  CHECK(names.front() == "_SUCCESS");
  CHECK(read_bytes(tmp.file("out/part-00017")) == "partition 17\n");
}

TEST_CASE("abort, or destruction without commit, leaves no part and no temporary file",
          "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  auto writer = committer.open_part(1, 0);
  writer->write_line("doomed");
  std::string temp = writer->temp_path();
  writer->abort();
  CHECK_FALSE(fs::exists(temp));
  CHECK_THROWS_AS(writer->commit(), spate::io_error);
  {
    auto dropped = committer.open_part(2, 0);
    dropped->write_line("dropped");
  }
  CHECK(names_in(tmp.file("out/_temporary")) == std::vector<std::string>{"_lock"});  // the job's own
  CHECK(names_in(tmp.file("out")) == std::vector<std::string>{"_temporary"});
}

TEST_CASE("_SUCCESS appears only after finish, which removes _temporary",
          "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  auto writer = committer.open_part(0, 0);
  writer->write_line("x");
  CHECK(writer->commit());
  auto straggler = committer.open_part(1, 0);  // never committed
  straggler->write_line("y");
  CHECK_FALSE(fs::exists(tmp.file("out/_SUCCESS")));
  committer.finish();
  CHECK(names_in(tmp.file("out")) == std::vector<std::string>{"_SUCCESS", "part-00000"});
  CHECK(fs::file_size(tmp.file("out/_SUCCESS")) == 0);
  // A task that starts after the job finished cannot write into it.
  CHECK_THROWS_AS(committer.open_part(2, 0), spate::io_error);
}

TEST_CASE("abort_job leaves nothing that looks like complete output", "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  auto done = committer.open_part(0, 0);
  done->write_line("x");
  CHECK(done->commit());
  auto running = committer.open_part(1, 0);
  running->write_line("y");
  committer.abort_job();
  CHECK(fs::is_empty(tmp.file("out")));
}

TEST_CASE("an output directory with _SUCCESS or other files is refused and an empty one is used",
          "[io][part_file_writer]") {
  TempDir tmp;
  auto refusal = [](const std::string& dir) -> std::string {
    try {
      OutputCommitter(dir).prepare();
    } catch (const spate::io_error& e) {
      return e.what();
    }
    FAIL("expected io_error");
    return "";
  };
  // A complete output is kept, whatever else is in it.
  fs::create_directories(tmp.file("done"));
  std::ofstream(tmp.file("done/part-00000")) << "old\n";
  std::ofstream(tmp.file("done/_SUCCESS"));
  CHECK(refusal(tmp.file("done")) ==
        "output directory '" + tmp.file("done") +
            "' already holds a complete output (it has _SUCCESS); remove it or choose another "
            "directory");
  CHECK(names_in(tmp.file("done")) == std::vector<std::string>{"_SUCCESS", "part-00000"});
  // So is a directory with anything that a spate job does not write.
  for (const std::string other : {"notes.txt", "part-1", "part-00000.txt", "_temporary"}) {
    INFO(other);
    std::string dir = tmp.file("other-" + std::to_string(other.size()));
    fs::create_directories(dir);
    std::ofstream(dir + "/part-00001") << "old\n";
    std::ofstream(dir + "/" + other) << "mine\n";  // a file named _temporary is not spate's
    CHECK(refusal(dir) == "output directory '" + dir + "' already exists and holds '" + other +
                              "', which is not part of an earlier spate output (only part files "
                              "and _temporary are cleared); remove it or choose another directory");
    CHECK(read_bytes(dir + "/" + other) == "mine\n");
    CHECK(read_bytes(dir + "/part-00001") == "old\n");
  }
  std::ofstream(tmp.file("plain-file")) << "x";
  CHECK_THROWS_AS(OutputCommitter(tmp.file("plain-file")).prepare(), spate::io_error);
  fs::create_directories(tmp.file("empty"));
  OutputCommitter(tmp.file("empty")).prepare();
  CHECK(fs::is_directory(tmp.file("empty/_temporary")));
  OutputCommitter nested(tmp.file("a/b/c"));
  nested.prepare();
  CHECK(fs::is_directory(tmp.file("a/b/c/_temporary")));
}

TEST_CASE("an output directory left by a job that did not finish is cleared and reused",
          "[io][part_file_writer]") {
  TempDir tmp;
  std::string dir = tmp.file("out");
  {
    // A job that committed parts 0 and 2 and was writing part 1 when it died.
    OutputCommitter dead(dir);
    dead.prepare();
    for (std::size_t p : {0, 2}) {
      auto w = dead.open_part(p, 1);
      w->write_line("old " + std::to_string(p));
      REQUIRE(w->commit());
    }
    std::ofstream(dir + "/_temporary/part-00001.attempt-1.gone-1") << "half";
  }  // its lock goes with it, as when its process is killed
  OutputCommitter rerun(dir);
  rerun.prepare();
  CHECK(names_in(dir) == std::vector<std::string>{"_temporary"});
  CHECK(names_in(dir + "/_temporary") == std::vector<std::string>{"_lock"});
  for (std::size_t p : {0, 1}) {
    auto w = rerun.open_part(p, 1);
    w->write_line("new " + std::to_string(p));
    REQUIRE(w->commit());
  }
  rerun.finish();
  CHECK(names_in(dir) == std::vector<std::string>{"_SUCCESS", "part-00000", "part-00001"});
  CHECK(read_bytes(dir + "/part-00000") == "new 0\n");
  // Only part files are a leftover: an empty _temporary alone is one too.
  std::string only_temp = tmp.file("only-temp");
  fs::create_directories(only_temp + "/_temporary");
  OutputCommitter(only_temp).prepare();
}

TEST_CASE("an output directory that a running job writes is refused, and free again once it ends",
          "[io][part_file_writer]") {
  TempDir tmp;
  std::string dir = tmp.file("out");
  auto running = std::make_unique<OutputCommitter>(dir);
  running->prepare();
  auto w = running->open_part(0, 1);
  w->write_line("x");
  REQUIRE(w->commit());
  try {
    OutputCommitter(dir).prepare();
    FAIL("expected io_error");
  } catch (const spate::io_error& e) {
    CHECK(std::string(e.what()) ==
          "output directory '" + dir + "' is being written by another job that is still running "
          "(it holds '" + dir + "/_temporary/_lock'); wait for it to end or choose another directory");
  }
  CHECK(read_bytes(dir + "/part-00000") == "x\n");  // untouched
  running->abort_job();
  OutputCommitter(dir).prepare();  // an aborted job released the directory
  running.reset();
}

TEST_CASE("part names have five digits, more when needed", "[io][part_file_writer]") {
  CHECK(OutputCommitter::part_name(0) == "part-00000");
  CHECK(OutputCommitter::part_name(42) == "part-00042");
  CHECK(OutputCommitter::part_name(99999) == "part-99999");
  CHECK(OutputCommitter::part_name(123456) == "part-123456");
}

TEST_CASE("lines longer than the write buffer are written whole", "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"), /*sync_on_commit=*/true);
  committer.prepare();
  std::string big(PartWriter::kBufferBytes + 123, 'z');
  auto writer = committer.open_part(0, 0);
  writer->write_line("a");
  writer->write_line(big);
  writer->write_line("b");
  CHECK(writer->bytes_written() == big.size() + 5);
  CHECK(writer->commit());
  CHECK(read_bytes(tmp.file("out/part-00000")) == "a\n" + big + "\nb\n");
}

TEST_CASE("a write error such as a full disk throws io_error naming the file",
          "[io][part_file_writer]") {
  if (!fs::exists("/dev/full")) return;
  TempDir tmp;
  OutputCommitter committer(tmp.file("out"));
  committer.prepare();
  // The temporary file of this attempt is made a link to a device that is always full.
  std::string temp = tmp.file("out/_temporary/part-00000.attempt-0." + writer_tag());
  fs::create_symlink("/dev/full", temp);
  auto writer = committer.open_part(0, 0);
  writer->write_line("does not fit");
  try {
    writer->commit();
    FAIL("expected io_error");
  } catch (const spate::io_error& e) {
    CHECK_THAT(e.what(), Catch::Contains(temp));
  }
  CHECK_FALSE(fs::exists(tmp.file("out/part-00000")));
}

TEST_CASE("opening a part before prepare throws io_error", "[io][part_file_writer]") {
  TempDir tmp;
  OutputCommitter committer(tmp.file("never-prepared"));
  CHECK_THROWS_AS(committer.open_part(0, 0), spate::io_error);
}
