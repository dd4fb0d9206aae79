// The planning pass of read_csv: the quote parity at the first line of every split.
#include "formats/split_quote_state.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

#include "formats/quote_count.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

/// Bytes read per call: large enough that the count, not the system call, sets the pace.
constexpr std::size_t kChunkBytes = 1 << 20;

class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw error_for("open");
  }
  ~ReadOnlyFile() { ::close(fd_); }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  /// Up to n bytes at offset; 0 at the end of the file.
  std::size_t read(char* dst, std::size_t n, std::uint64_t offset) {
    for (;;) {
      ssize_t got = ::pread(fd_, dst, n, static_cast<off_t>(offset));
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno != EINTR) throw error_for("read");
    }
  }

 private:
  io_error error_for(const char* what) const {
    return io_error(fmt::format("cannot {} input file '{}' to find where its CSV records start: {}",
                                what, path_, std::system_category().message(errno)));
  }
  std::string path_;
  int fd_;
};

/// Fills states[first, last) for the splits of one plain file.
void states_of_file(const std::vector<InputSplit>& splits, std::size_t first, std::size_t last,
                    char quote, std::vector<bool>& states) {
  ReadOnlyFile file(splits[first].path);
  auto buf = std::make_unique_for_overwrite<char[]>(kChunkBytes);
  bool odd = false;           // parity of the quotes in [0, counted)
  std::uint64_t counted = 0;  // bytes whose quotes are in odd
  std::size_t k = first;
  // Splits starting at 0 begin the file, outside quotes.
  while (k < last && splits[k].begin == 0) states[k++] = false;
  std::uint64_t chunk_at = 0;
  while (k < last) {
    std::size_t n = file.read(buf.get(), kChunkBytes, chunk_at);
    if (n == 0) {
      // The file ends before these splits' first lines: they have none, and read nothing.
      for (; k < last; ++k) states[k] = odd;
      return;
    }
    const char* base = buf.get();
    const std::uint64_t chunk_end = chunk_at + n;
    auto count_to = [&](std::uint64_t to) {
      odd ^= odd_quotes(base + (counted - chunk_at), static_cast<std::size_t>(to - counted), quote);
      counted = to;
    };
    while (k < last) {
      const std::uint64_t look_from = std::max(counted, splits[k].begin - 1);
      if (look_from >= chunk_end) break;
      const auto* nl = static_cast<const char*>(
          std::memchr(base + (look_from - chunk_at), '\n', static_cast<std::size_t>(chunk_end - look_from)));
      if (nl == nullptr) break;
      // The line after nl is the split's first; the '\n' itself is no quote.
      count_to(chunk_at + static_cast<std::uint64_t>(nl - base) + 1);
      states[k++] = odd;
      // Later splits whose first '\n' is this same one share its state.
      while (k < last && splits[k].begin - 1 < counted) states[k++] = odd;
    }
    if (k < last) count_to(chunk_end);
    chunk_at = chunk_end;
  }
}

}  // namespace

std::vector<bool> split_quote_states(const std::vector<InputSplit>& splits, char quote) {
  std::vector<bool> states(splits.size(), false);
  for (std::size_t i = 0; i < splits.size();) {
    std::size_t j = i + 1;
    while (j < splits.size() && splits[j].path == splits[i].path) ++j;
    if (splits[i].compression == Compression::none && j - i > 1) states_of_file(splits, i, j, quote, states);
    i = j;
  }
  return states;
}

}  // namespace spate::detail
