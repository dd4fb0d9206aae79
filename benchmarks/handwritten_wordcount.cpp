// spate-handwritten-wordcount: the hand-written single-threaded baseline that spate-wordcount is
// measured against: mmap, a table-driven split on the same whitespace, a flat hash map with
// string_view lookup, one sort.
// Usage: spate-handwritten-wordcount --input FILE [--out FILE]
// Output is byte-identical to spate-wordcount's: "word\tcount" lines, count descending, then word
// ascending (bytes), no header.
#include <spate/command_line.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-handwritten-wordcount --input FILE [--out FILE]\n";

struct UsageError {
  std::string message;
};

// A whole file mapped read-only; words are looked up as string_views into it.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) fail("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      fail("cannot stat", path);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ != 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        fail("cannot map", path);
      }
      data_ = static_cast<const char*>(p);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view bytes() const noexcept { return {data_, size_}; }

 private:
  [[noreturn]] static void fail(const char* what, const std::string& path) {
    throw std::runtime_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The whitespace spate-wordcount splits on (' ', \t, \n, \r, \f, \v); '\n' also ends lines there,
// so splitting the whole file at once gives the same words as splitting each line.
constexpr std::array<bool, 256> kSpace = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f', '\v'}) t[c] = true;
  return t;
}();

bool is_space(char c) { return kSpace[static_cast<unsigned char>(c)]; }

// Transparent hash and equality, so that a word is looked up as a string_view into the file and
// copied only when first seen.
struct WordHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view w) const noexcept {
    return boost::hash<std::string_view>{}(w);
  }
};
struct WordEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// std::string keys rather than views into an arena: short words live in the slot itself (SSO),
// which saves the second cache miss per lookup, measured ~10% faster on Zipf text.
using Counts = boost::unordered_flat_map<std::string, std::int64_t, WordHash, WordEq>;

// Counts every whitespace-separated word of data.
Counts count_words(std::string_view data) {
  Counts counts;
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p < end) {
    while (p < end && is_space(*p)) ++p;
    const char* start = p;
    while (p < end && !is_space(*p)) ++p;
    if (p == start) continue;
    const std::string_view word(start, static_cast<std::size_t>(p - start));
    auto it = counts.find(word);
    if (it == counts.end()) it = counts.emplace(std::string(word), 0).first;
    ++it->second;
  }
  return counts;
}

// The rows in spate-wordcount's order and format.
std::string format_counts(const Counts& counts) {
  std::vector<std::pair<std::string_view, std::int64_t>> rows;
  rows.reserve(counts.size());
  for (const auto& [word, n] : counts) rows.emplace_back(word, n);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::string text;
  std::size_t bytes = 0;
  for (const auto& [word, n] : rows) bytes += word.size() + 22;  // tab, digits, newline
  text.reserve(bytes);
  char digits[24];
  for (const auto& [word, n] : rows) {
    text += word;
    text += '\t';
    text.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    text += '\n';
  }
  return text;
}

void write_result(const std::string& text, const std::string& path) {
  std::FILE* f = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = path.empty() ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!ok || !closed) {
    throw std::runtime_error("cannot write " + (path.empty() ? std::string("stdout") : path) +
                             ": " + std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (spate::help_requested(argc, argv)) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  try {
    std::string input, out;
    for (int i = 1; i < argc; ++i) {
      const std::string_view flag = argv[i];
      std::string* target = flag == "--input" ? &input : flag == "--out" ? &out : nullptr;
      if (target == nullptr) throw UsageError{spate::unknown_argument(flag, {"--input", "--out"})};
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        throw UsageError{std::string(flag) + " needs a file name"};
      }
      *target = argv[++i];
    }
    if (input.empty()) throw UsageError{"--input is required"};
    const MappedFile file(input);
    write_result(format_counts(count_words(file.bytes())), out);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-handwritten-wordcount", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-handwritten-wordcount: %s\n", e.what());
    return 1;
  }
}
