// A deliberately plain, slow oracle for the click-log jobs J1-J5 of CLICKLOG.md, written from the
// spec alone (no spate parsing code), for tests to compare spate's programs against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spate::test {

/// The whole file as bytes; throws std::runtime_error when it cannot be read.
inline std::string reference_read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("reference: cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The lines of a file's bytes as the spec defines them: split at `\n`; a `\r` right before a
/// `\n` belongs to the line end; no line after a final `\n`. The header is still included.
inline std::vector<std::string> reference_lines(const std::string& bytes) {
  std::vector<std::string> lines;
  std::string current;
  for (char c : bytes) {
    if (c == '\n') {
      if (!current.empty() && current.back() == '\r') current.pop_back();
      lines.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) lines.push_back(current);  // the last line without `\n`
  return lines;
}

/// `s` cut at every `sep` (n separators give n+1 pieces, empty ones included).
inline std::vector<std::string> reference_split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

/// Rule 3: 1 to 18 ASCII digits.
inline bool reference_is_number(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/// Rule 5, by decoding code points: every sequence complete, shortest form, a scalar value.
inline bool reference_is_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (lead < 0x80) {
      len = 1;
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      len = 2;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4;
      cp = lead & 0x07;
    } else {
      return false;  // a continuation byte or F8..FF where a sequence should start
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const std::uint32_t shortest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < shortest[len]) return false;            // overlong
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogate
    if (cp > 0x10FFFF) return false;                 // beyond Unicode
    i += len;
  }
  return true;
}

/// A valid record's fields, in log order.
struct ReferenceRecord {
  std::int64_t ts = 0;
  std::string user_id;
  std::string event;
  std::int64_t campaign_id = 0;
  std::string url;
  std::string country;
  std::int64_t cost_micros = 0;
};

/// Rules 1-5 of CLICKLOG.md on one line (line end already removed).
inline bool reference_is_valid(const std::string& line) {
  const std::vector<std::string> f = reference_split(line, '\t');
  if (f.size() != 10) return false;
  for (const std::string& field : f) {
    if (field.empty()) return false;
  }
  for (int i : {0, 4, 5, 9}) {
    if (!reference_is_number(f[static_cast<std::size_t>(i)])) return false;
  }
  if (f[3] != "impression" && f[3] != "click" && f[3] != "conversion") return false;
  return reference_is_utf8(line);
}

/// The valid records of the click files (each file's first line is its header) and the count
/// of malformed lines.
inline std::vector<ReferenceRecord> reference_records(const std::vector<std::string>& files,
                                                      std::int64_t* malformed = nullptr) {
  std::vector<ReferenceRecord> records;
  std::int64_t bad = 0;
  for (const std::string& file : files) {
    const std::vector<std::string> lines = reference_lines(reference_read_file(file));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      if (!reference_is_valid(lines[i])) {
        ++bad;
        continue;
      }
      const std::vector<std::string> f = reference_split(lines[i], '\t');
      ReferenceRecord r;
      r.ts = std::stoll(f[0]);
      r.user_id = f[1];
      r.event = f[3];
      r.campaign_id = std::stoll(f[4]);
      r.url = f[6];
      r.country = f[7];
      r.cost_micros = std::stoll(f[9]);
      records.push_back(r);
    }
  }
  if (malformed != nullptr) *malformed = bad;
  return records;
}

/// `%.6f` of a / b in double, or NA for b == 0.
inline std::string reference_ratio(double a, double b, double scale = 1.0) {
  if (b == 0) return "NA";
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.6f", a / b / scale);
  return buf;
}

/// The exact output of job `job` (ctr, uniques, join, sessions, wordcount) over plain click
/// files; `campaigns_file` is read by join only. std::string compares bytes as unsigned
/// (char_traits<char> uses memcmp order), which is the order the spec asks for.
inline std::string reference_job(std::string_view job, const std::vector<std::string>& click_files,
                                 const std::string& campaigns_file) {
  const std::vector<ReferenceRecord> records = reference_records(click_files);
  std::string out;
  const auto row = [&out](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out += (i == 0 ? "" : "\t") + cells[i];
    out += "\n";
  };
  const auto str = [](std::int64_t v) { return std::to_string(v); };

  if (job == "ctr") {
    std::map<std::int64_t, std::map<std::string, std::int64_t>> counts;
    for (const auto& r : records) counts[r.campaign_id][r.event] += 1;
    row({"campaign_id", "impressions", "clicks", "conversions", "ctr"});
    for (auto& [id, c] : counts) {
      row({str(id), str(c["impression"]), str(c["click"]), str(c["conversion"]),
           reference_ratio(static_cast<double>(c["click"]), static_cast<double>(c["impression"]))});
    }
  } else if (job == "uniques") {
    std::map<std::string, std::set<std::string>> users;
    for (const auto& r : records) users[r.country].insert(r.user_id);
    row({"country", "users"});
    for (const auto& [country, set] : users) {
      row({country, str(static_cast<std::int64_t>(set.size()))});
    }
  } else if (job == "join") {
    std::map<std::int64_t, std::string> advertiser_of;
    std::map<std::string, std::int64_t> budget, spend;
    const std::vector<std::string> lines = reference_lines(reference_read_file(campaigns_file));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = reference_split(lines[i], '\t');
      if (f.size() != 3 || !reference_is_number(f[0]) || !reference_is_number(f[2])) continue;
      advertiser_of.emplace(std::stoll(f[0]), f[1]);
      budget[f[1]] += std::stoll(f[2]);
      spend[f[1]] += 0;
    }
    for (const auto& r : records) {
      if (r.event != "impression") continue;
      auto it = advertiser_of.find(r.campaign_id);
      if (it != advertiser_of.end()) spend[it->second] += r.cost_micros;
    }
    row({"advertiser", "spend_micros", "budget_micros", "spend_ratio"});
    for (const auto& [advertiser, s] : spend) {
      row({advertiser, str(s), str(budget[advertiser]),
           reference_ratio(static_cast<double>(s), static_cast<double>(budget[advertiser]))});
    }
  } else if (job == "sessions") {
    std::map<std::string, std::vector<std::int64_t>> times;
    for (const auto& r : records) times[r.user_id].push_back(r.ts);
    std::int64_t sessions = 0, duration = 0;
    for (auto& [user, ts] : times) {
      std::sort(ts.begin(), ts.end());
      std::int64_t first = ts[0];
      for (std::size_t i = 0; i < ts.size(); ++i) {
        if (i == 0 || ts[i] - ts[i - 1] > 1800000) {
          if (i != 0) duration += ts[i - 1] - first;
          ++sessions;
          first = ts[i];
        }
      }
      duration += ts.back() - first;
    }
    row({"users", "sessions", "mean_events", "mean_duration_s"});
    row({str(static_cast<std::int64_t>(times.size())), str(sessions),
         reference_ratio(static_cast<double>(records.size()), static_cast<double>(sessions)),
         reference_ratio(static_cast<double>(duration), static_cast<double>(sessions), 1000.0)});
  } else if (job == "wordcount") {
    std::map<std::string, std::int64_t> counts;
    for (const auto& r : records) counts[r.url] += 1;
    std::set<std::pair<std::int64_t, std::string>> ordered;  // (-count, url): the output order
    for (const auto& [url, n] : counts) ordered.emplace(-n, url);
    row({"url", "count"});
    std::size_t printed = 0;
    for (const auto& [neg, url] : ordered) {
      if (printed++ == 100) break;
      row({url, str(-neg)});
    }
  } else {
    throw std::invalid_argument("reference: unknown job " + std::string(job));
  }
  return out;
}

}  // namespace spate::test
