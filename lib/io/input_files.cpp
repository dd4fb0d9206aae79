// Listing the input files of a text source: a file, a directory or a glob pattern.
#include "io/input_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include "io/s3_listing.hpp"
#include "s3/s3_config.hpp"
#include "spate/error.hpp"

namespace spate::detail {
namespace {

namespace fs = std::filesystem;

/// The system's description of an errno value; thread-safe, unlike strerror.
std::string errno_text(int err) { return std::system_category().message(err); }

/// True if s ends with suffix.
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// True for names Hadoop and Spark treat as metadata, not data (_SUCCESS, .crc, _temporary).
bool is_hidden_name(std::string_view name) {
  return !name.empty() && (name.front() == '_' || name.front() == '.');
}

/// True when spec contains a character that glob(3) would expand.
bool has_glob_chars(std::string_view spec) {
  return spec.find_first_of("*?[{") != std::string_view::npos;
}

/// Throws io_error unless path can be opened for reading: permissions alone do not tell
/// (root, ACLs), so we really open it.
void check_readable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw io_error(fmt::format("cannot read input file '{}': {}", path, errno_text(errno)));
  }
  ::close(fd);
}

/// Appends the readable regular file at path (already stat'ed) to out.
void add_file(const std::string& path, const struct stat& st, std::vector<InputFile>& out) {
  check_readable(path);
  out.push_back(InputFile{path, static_cast<std::uint64_t>(st.st_size),
                          compression_for_path(path), mtime_ns_of(st), ""});
}

/// "1 subdirectory", "2 subdirectories": n and the right form of a noun.
std::string count_of(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

/// Appends the visible regular files directly inside dir; throws when it has none, saying what
/// it holds instead. A symbolic link is followed; one that points nowhere is an error, not a
/// silent skip, since it names data the user expects to be read.
void add_directory(const std::string& dir, std::vector<InputFile>& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    throw io_error(fmt::format("cannot list input directory '{}': {}", dir, ec.message()));
  }
  std::size_t before = out.size();
  std::size_t hidden = 0, subdirs = 0, special = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (is_hidden_name(name)) {
      ++hidden;
      continue;
    }
    std::string path = it->path().string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      int err = errno;
      std::error_code link_ec;
      fs::path target = fs::read_symlink(path, link_ec);
      if (!link_ec && err == ENOENT) {
        throw io_error(fmt::format(
            "input file '{}' is a symbolic link to '{}', which does not exist", path,
            target.string()));
      }
      throw io_error(fmt::format("cannot stat input file '{}': {}", path, errno_text(err)));
    }
    if (S_ISREG(st.st_mode)) {
      add_file(path, st, out);
    } else if (S_ISDIR(st.st_mode)) {
      ++subdirs;  // not descended, as in Spark without recursiveFileLookup
    } else {
      ++special;  // a FIFO, socket or device: reading it could block or never end
    }
  }
  if (ec) {
    throw io_error(fmt::format("cannot list input directory '{}': {}", dir, ec.message()));
  }
  if (out.size() == before) {
    if (hidden + subdirs + special == 0) {
      throw io_error(fmt::format("input directory '{}' is empty: there is no file to read", dir));
    }
    std::vector<std::string> held;
    if (hidden > 0) {
      held.push_back(count_of(hidden, "hidden entry", "hidden entries") +
                     " (names starting with '_' or '.' are skipped)");
    }
    if (subdirs > 0) {
      held.push_back(count_of(subdirs, "subdirectory", "subdirectories") +
                     " (subdirectories are not read)");
    }
    if (special > 0) {
      held.push_back(count_of(special, "FIFO, socket or device", "FIFOs, sockets or devices") +
                     " (only regular files are read)");
    }
    throw io_error(fmt::format("input directory '{}' has no file to read: it holds only {}", dir,
                               fmt::join(held, ", ")));
  }
}

/// Appends what one existing path stands for: itself if a regular file, its files if a directory.
void add_path(const std::string& path, std::vector<InputFile>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw io_error(fmt::format("cannot stat input path '{}': {}", path, errno_text(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    add_directory(path, out);
  } else if (S_ISREG(st.st_mode)) {
    add_file(path, st, out);
  } else {
    throw io_error(fmt::format("input path '{}' is neither a regular file nor a directory", path));
  }
}

/// Appends the files every visible match of pattern stands for; throws when nothing matches.
void add_glob(const std::string& pattern, std::vector<InputFile>& out) {
  int flags = GLOB_ERR;  // an unreadable directory on the way is an error, not a silent skip
#ifdef GLOB_BRACE
  flags |= GLOB_BRACE;
#endif
  glob_t matches{};
  int rc = ::glob(pattern.c_str(), flags, nullptr, &matches);
  if (rc == GLOB_NOMATCH) {
    ::globfree(&matches);
    throw io_error(fmt::format("input path '{}' does not exist and matches no file", pattern));
  }
  if (rc != 0) {
    ::globfree(&matches);
    throw io_error(fmt::format("cannot expand input pattern '{}': {}", pattern,
                               rc == GLOB_NOSPACE ? "out of memory" : "a directory is unreadable"));
  }
  std::vector<std::string> paths(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
  ::globfree(&matches);
  std::size_t before = out.size();
  for (const std::string& path : paths) {
    if (is_hidden_name(fs::path(path).filename().string())) continue;
    add_path(path, out);
  }
  if (out.size() == before) {
    throw io_error(fmt::format(
        "input pattern '{}' matches only hidden files (names starting with '_' or '.')", pattern));
  }
}

}  // namespace

std::int64_t mtime_ns_of(const struct ::stat& st) noexcept {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

Compression compression_for_path(std::string_view path) noexcept {
  if (ends_with(path, ".gz")) return Compression::gzip;
  if (ends_with(path, ".zst")) return Compression::zstd;
  return Compression::none;
}

const char* compression_name(Compression compression) noexcept {
  switch (compression) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
  }
  return "unknown";
}

std::vector<InputFile> list_input_files(const std::string& spec) {
  if (spec.empty()) throw io_error("input path is empty");
  if (is_s3_uri(spec)) return list_s3_objects(spec);
  std::vector<InputFile> out;
  struct stat st {};
  if (::stat(spec.c_str(), &st) == 0) {
    add_path(spec, out);  // an existing path wins over reading it as a pattern
  } else if (errno == ENOENT && has_glob_chars(spec)) {
    add_glob(spec, out);
  } else {
    throw io_error(fmt::format("cannot stat input path '{}': {}", spec, errno_text(errno)));
  }
  std::sort(out.begin(), out.end(),
            [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const InputFile& a, const InputFile& b) { return a.path == b.path; }),
            out.end());
  return out;
}

}  // namespace spate::detail
