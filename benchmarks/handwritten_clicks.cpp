// spate-handwritten-clicks: the hand-written single-threaded baseline for the click-log jobs J1-J5
// (CLICKLOG.md) that spate's versions are measured against: mmap, parse_click, flat hash maps.
// Usage: spate-handwritten-clicks JOB --input FILE [--campaigns FILE] [--out FILE]
#include <spate/clicklog.hpp>
#include <spate/command_line.hpp>
#include <spate/error.hpp>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr std::string_view kUsage =
    "usage: spate-handwritten-clicks JOB --input FILE [--campaigns FILE] [--out FILE]\n"
    "  JOB is one of ctr, uniques, join, sessions, wordcount; FILE is a plain click log.\n";

struct UsageError {
  std::string message;
};

// A whole file mapped read-only; the records' string_views point into it for the whole run.
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
    throw spate::io_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Calls on_line for every line after the first (the header), without its `\n` and the `\r`
// just before one; the last line may lack the `\n`.
template <class OnLine>
void for_each_data_line(std::string_view data, OnLine&& on_line) {
  if (data.empty()) return;
  const char* p = data.data();
  const char* const end = p + data.size();
  const auto* nl = static_cast<const char*>(std::memchr(p, '\n', data.size()));
  if (nl == nullptr) return;  // header only (or empty)
  p = nl + 1;
  while (p < end) {
    nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    std::string_view line;
    if (nl != nullptr) {
      line = std::string_view(p, static_cast<std::size_t>(nl - p));
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      p = nl + 1;
    } else {
      line = std::string_view(p, static_cast<std::size_t>(end - p));
      p = end;
    }
    on_line(line);
  }
}

// Calls on_record for every valid record; returns the number of malformed lines.
template <class OnRecord>
std::int64_t for_each_record(std::string_view data, OnRecord&& on_record) {
  std::int64_t malformed = 0;
  spate::ClickView v;
  for_each_data_line(data, [&](std::string_view line) {
    if (spate::parse_click(line, v).ok()) {
      on_record(v);
    } else {
      ++malformed;
    }
  });
  return malformed;
}

// Copies each distinct key once into large blocks. Keys that pointed into the mapped file would
// make every hash-table compare touch a random spot of the whole input; these stay hot in cache.
class KeyArena {
 public:
  std::string_view store(std::string_view key) {
    if (key.size() > left_) {
      const std::size_t size = std::max(kBlock, key.size());
      blocks_.push_back(std::make_unique<char[]>(size));
      next_ = blocks_.back().get();
      left_ = size;
    }
    std::memcpy(next_, key.data(), key.size());
    const std::string_view stored(next_, key.size());
    next_ += key.size();
    left_ -= key.size();
    return stored;
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

// The count slot of `key`, inserting it (copied into `arena`) on first sight.
template <class Map>
typename Map::mapped_type& slot(Map& map, KeyArena& arena, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(arena.store(key), typename Map::mapped_type{}).first;
  return it->second;
}

struct Result {
  std::string text;
  std::int64_t malformed = 0;
};

void append_line(std::string& out, std::initializer_list<std::string_view> cells) {
  bool first = true;
  for (std::string_view c : cells) {
    if (!first) out += '\t';
    out += c;
    first = false;
  }
  out += '\n';
}

std::string header(spate::ClickJob job) { return std::string(spate::click_job_header(job)) + "\n"; }

Result run_ctr(std::string_view data) {
  boost::unordered_flat_map<std::int64_t, std::array<std::int64_t, 3>> per_campaign;
  Result r;
  r.malformed = for_each_record(data, [&](const spate::ClickView& c) {
    ++per_campaign[c.campaign_id][static_cast<std::size_t>(c.event)];
  });
  std::vector<std::pair<std::int64_t, std::array<std::int64_t, 3>>> rows(per_campaign.begin(),
                                                                         per_campaign.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  r.text = header(spate::ClickJob::ctr);
  for (const auto& [id, n] : rows) {
    append_line(r.text, {std::to_string(id), std::to_string(n[0]), std::to_string(n[1]),
                         std::to_string(n[2]), spate::format_ratio(n[1], n[0])});
  }
  return r;
}

Result run_uniques(std::string_view data) {
  boost::unordered_flat_map<std::string_view, boost::unordered_flat_set<std::string_view>> users;
  KeyArena arena;
  Result r;
  r.malformed = for_each_record(data, [&](const spate::ClickView& c) {
    auto& set = slot(users, arena, c.country);
    if (!set.contains(c.user_id)) set.insert(arena.store(c.user_id));
  });
  std::vector<std::pair<std::string_view, std::size_t>> rows;
  for (const auto& [country, set] : users) rows.emplace_back(country, set.size());
  std::sort(rows.begin(), rows.end());
  r.text = header(spate::ClickJob::uniques);
  for (const auto& [country, n] : rows) append_line(r.text, {country, std::to_string(n)});
  return r;
}

Result run_join(std::string_view data, std::string_view campaigns) {
  struct Totals {
    std::int64_t spend = 0;
    std::int64_t budget = 0;
  };
  std::map<std::string, Totals> per_advertiser;  // ordered by bytes, as the output wants
  boost::unordered_flat_map<std::int64_t, Totals*> campaign_owner;
  spate::Campaign row;
  for_each_data_line(campaigns, [&](std::string_view line) {
    if (!spate::parse_campaign(line, row)) return;
    Totals& t = per_advertiser[std::string(row.advertiser)];
    t.budget += row.budget_micros;
    campaign_owner.emplace(row.campaign_id, &t);
  });
  boost::unordered_flat_map<std::int64_t, std::int64_t> spend_per_campaign;
  Result r;
  r.malformed = for_each_record(data, [&](const spate::ClickView& c) {
    if (c.event == spate::Event::impression) spend_per_campaign[c.campaign_id] += c.cost_micros;
  });
  for (const auto& [id, spend] : spend_per_campaign) {
    if (auto it = campaign_owner.find(id); it != campaign_owner.end()) it->second->spend += spend;
  }
  r.text = header(spate::ClickJob::join);
  for (const auto& [advertiser, t] : per_advertiser) {
    append_line(r.text, {advertiser, std::to_string(t.spend), std::to_string(t.budget),
                         spate::format_ratio(t.spend, t.budget)});
  }
  return r;
}

Result run_sessions(std::string_view data) {
  // Users get dense ids; a counting sort by user keeps each user's timestamps in file order,
  // which is nearly sorted already, so the per-user sorts are cheap.
  boost::unordered_flat_map<std::string_view, std::uint32_t> user_ids;
  KeyArena arena;
  std::vector<std::uint32_t> record_user;
  std::vector<std::int64_t> record_ts;
  Result r;
  r.malformed = for_each_record(data, [&](const spate::ClickView& c) {
    auto it = user_ids.find(c.user_id);
    if (it == user_ids.end()) {
      it = user_ids.emplace(arena.store(c.user_id), static_cast<std::uint32_t>(user_ids.size()))
               .first;
    }
    record_user.push_back(it->second);
    record_ts.push_back(c.ts);
  });
  const std::size_t users = user_ids.size();
  std::vector<std::size_t> start(users + 1, 0);
  for (std::uint32_t u : record_user) ++start[u + 1];
  for (std::size_t u = 0; u < users; ++u) start[u + 1] += start[u];
  std::vector<std::int64_t> by_user(record_ts.size());
  {
    std::vector<std::size_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < record_ts.size(); ++i) {
      by_user[next[record_user[i]]++] = record_ts[i];
    }
  }
  std::int64_t sessions = 0;
  std::int64_t total_duration = 0;
  for (std::size_t u = 0; u < users; ++u) {
    const auto first = by_user.begin() + static_cast<std::ptrdiff_t>(start[u]);
    const auto last = by_user.begin() + static_cast<std::ptrdiff_t>(start[u + 1]);
    std::sort(first, last);
    std::int64_t session_start = *first;
    std::int64_t prev = *first;
    ++sessions;
    for (auto it = first + 1; it != last; ++it) {
      if (*it - prev > spate::kSessionGapMs) {
        total_duration += prev - session_start;
        ++sessions;
        session_start = *it;
      }
      prev = *it;
    }
    total_duration += prev - session_start;
  }
  const auto records = static_cast<std::int64_t>(record_ts.size());
  r.text = header(spate::ClickJob::sessions);
  append_line(r.text, {std::to_string(users), std::to_string(sessions),
                       spate::format_ratio(records, sessions),
                       spate::format_ms_as_seconds(total_duration, sessions)});
  return r;
}

Result run_wordcount(std::string_view data) {
  boost::unordered_flat_map<std::string_view, std::int64_t> counts;
  KeyArena arena;
  Result r;
  r.malformed =
      for_each_record(data, [&](const spate::ClickView& c) { ++slot(counts, arena, c.url); });
  std::vector<std::pair<std::string_view, std::int64_t>> rows(counts.begin(), counts.end());
  const auto before = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const std::size_t top = std::min(rows.size(), spate::kWordcountTop);
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(top), rows.end(),
                    before);
  r.text = header(spate::ClickJob::wordcount);
  for (std::size_t i = 0; i < top; ++i) {
    append_line(r.text, {rows[i].first, std::to_string(rows[i].second)});
  }
  return r;
}

struct Args {
  spate::ClickJob job = spate::ClickJob::ctr;
  std::string input;
  std::string campaigns;
  std::string out;
};

Args parse_args(int argc, char** argv) {
  if (argc < 2) throw UsageError{"missing JOB"};
  Args a;
  const auto job = spate::click_job_from_name(argv[1]);
  if (!job) throw UsageError{"unknown job '" + std::string(argv[1]) + "'"};
  a.job = *job;
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    std::string* target = flag == "--input"       ? &a.input
                          : flag == "--campaigns" ? &a.campaigns
                          : flag == "--out"       ? &a.out
                                                  : nullptr;
    if (target == nullptr)
      throw UsageError{spate::unknown_argument(flag, {"--input", "--campaigns", "--out"})};
    if (i + 1 >= argc || argv[i + 1][0] == '\0') {
      throw UsageError{std::string(flag) + " needs a file name"};
    }
    *target = argv[++i];
  }
  if (a.input.empty()) throw UsageError{"--input is required"};
  if (a.campaigns.empty()) {
    a.campaigns = (std::filesystem::path(a.input).parent_path() / "campaigns.tsv").string();
  }
  return a;
}

void write_result(const std::string& text, const std::string& path) {
  std::FILE* f = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw spate::io_error("cannot open " + path + ": " + std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = path.empty() ? std::fflush(f) == 0 : std::fclose(f) == 0;
  if (!ok || !closed) {
    throw spate::io_error("cannot write " + (path.empty() ? std::string("stdout") : path) + ": " +
                          std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (spate::help_requested(argc, argv)) {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  try {
    const Args args = parse_args(argc, argv);
    const MappedFile input(args.input);
    Result r;
    switch (args.job) {
      case spate::ClickJob::ctr:
        r = run_ctr(input.bytes());
        break;
      case spate::ClickJob::uniques:
        r = run_uniques(input.bytes());
        break;
      case spate::ClickJob::join: {
        const MappedFile campaigns(args.campaigns);
        r = run_join(input.bytes(), campaigns.bytes());
        break;
      }
      case spate::ClickJob::sessions:
        r = run_sessions(input.bytes());
        break;
      case spate::ClickJob::wordcount:
        r = run_wordcount(input.bytes());
        break;
    }
    write_result(r.text, args.out);
    std::fprintf(stderr, "skipped %lld malformed lines\n", static_cast<long long>(r.malformed));
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-handwritten-clicks", e.message).c_str());
    return 2;
  } catch (const spate::error& e) {
    std::fprintf(stderr, "spate-handwritten-clicks: %s\n", e.what());
    return 1;
  }
}
