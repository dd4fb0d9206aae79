// spate-handwritten-clicks: the hand-written single-threaded baseline for the click-log jobs J1-J5
// (CLICKLOG.md) that spate's versions are measured against.
// Usage: spate-handwritten-clicks JOB --input FILE [--campaigns FILE] [--out FILE]
//
// What makes it fast: the log is read in 256 KB pieces into one buffer that stays in cache (a
// mapping was 3x slower to scan on the VM, see fast_scan.hpp). SIMD compares turn each 64-byte
// block into a bitmask of '\t', '\n' and bytes >= 0x80, and tzcnt lists those positions. A line
// whose next ten are nine tabs and a '\n' has the right field count and no byte >= 0x80, so it
// is valid UTF-8 without looking further; its fields are then checked in place (digits 16 bytes
// at a time, the event as two integer compares) and only the numbers a job uses are decoded.
// Other lines (3% of the generator's rows have a non-ASCII url) walk their listed separators and
// check UTF-8 from their first byte >= 0x80. Campaign ids index an array; user ids and urls go to
// an open-addressing table with 16-byte keys inside its slots, prefetched 16 records ahead. J4
// keeps a 32-bit user id and a 32-bit time offset per record, groups them by user with a
// counting sort and sorts each user's nearly sorted run by insertion.
#include "fast_scan.hpp"

#include <spate/clicklog.hpp>
#include <spate/command_line.hpp>
#include <spate/error.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <immintrin.h>

namespace {

using fast_scan::Isa;
using fast_scan::KeyRef;
using spate::Event;

constexpr std::string_view kUsage =
    "usage: spate-handwritten-clicks JOB --input FILE [--campaigns FILE] [--out FILE]\n"
    "  JOB is one of ctr, uniques, join, sessions, wordcount; FILE is a plain click log.\n";

struct UsageError {
  std::string message;
};

// --- Separator bitmasks: bit i is set iff byte i of the 64 at p is '\t', '\n' or >= 0x80. -----

struct SepSse2 {
  static std::uint64_t mask(const char* p) {
    std::uint64_t m = 0;
    for (int q = 0; q < 4; ++q) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
      // movemask takes each byte's top bit: OR-ing v in adds the bytes >= 0x80.
      const __m128i sep = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                       v);
      m |= std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(sep))} << (16 * q);
    }
    return m;
  }
};

struct SepAvx2 {
  [[gnu::target("avx2,bmi,bmi2")]] static std::uint64_t mask(const char* p) {
    std::uint64_t m = 0;
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * h));
      const __m256i sep =
          _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\t')),
                                          _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'))),
                          v);
      m |= std::uint64_t{static_cast<std::uint32_t>(_mm256_movemask_epi8(sep))} << (32 * h);
    }
    return m;
  }
};

struct SepAvx512 {
  [[gnu::target("avx512f,avx512bw,bmi,bmi2")]] static std::uint64_t mask(const char* p) {
    const __m512i v = _mm512_loadu_si512(p);
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t')) |
           _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) | _mm512_movepi8_mask(v);
  }
};

// The bytes one call lists separators for: its list (at most one a byte) stays in L1.
constexpr std::size_t kSpan = 2048;

// Appends the separators of [p, p + n), n <= kSpan, to out, which has room for 8 more than
// that; returns how many.
template <class Sep>
[[gnu::always_inline]] inline std::size_t list_separators(const char* p, std::size_t n,
                                                          const char** out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; i += 64) {
    std::uint64_t m = Sep::mask(p + i);
    if (n - i < 64) m &= (std::uint64_t{1} << (n - i)) - 1;
    // A block has about 6 separators: write 8 whatever the count (countr_zero(0) is 64, the
    // extra entries are overwritten), so that most blocks take no data-dependent branch.
    const int c = std::popcount(m);
    for (int k = 0; k < 8; ++k, m &= m - 1) out[count + k] = p + i + std::countr_zero(m);
    for (int k = 8; k < c; ++k, m &= m - 1) out[count + k] = p + i + std::countr_zero(m);
    count += static_cast<std::size_t>(c);
  }
  return count;
}

using ListSeparators = std::size_t (*)(const char*, std::size_t, const char**);

// One copy of list_separators per instruction set, each with its mask inlined.
[[gnu::flatten]] std::size_t list_separators_sse2(const char* p, std::size_t n, const char** out) {
  return list_separators<SepSse2>(p, n, out);
}
[[gnu::target("avx2,bmi,bmi2"), gnu::flatten]] std::size_t list_separators_avx2(const char* p,
                                                                                std::size_t n,
                                                                                const char** out) {
  return list_separators<SepAvx2>(p, n, out);
}
[[gnu::target("avx512f,avx512bw,bmi,bmi2"), gnu::flatten]] std::size_t list_separators_avx512(
    const char* p, std::size_t n, const char** out) {
  return list_separators<SepAvx512>(p, n, out);
}

ListSeparators pick_list_separators() {
  switch (fast_scan::best_isa()) {
    case Isa::avx512:
      return list_separators_avx512;
    case Isa::avx2:
      return list_separators_avx2;
    case Isa::sse2:
      break;
  }
  return list_separators_sse2;
}

// The separators of a region, listed a span at a time as the lines ask for them.
class Separators {
 public:
  Separators(const char* begin, const char* end, ListSeparators list)
      : next_(begin), end_(end), list_(list) {}

  // Lists more until at least `n` are ready or the region is done; returns how many are ready.
  std::size_t ready(std::size_t n) {
    if (tail_ - head_ >= n) return tail_ - head_;
    std::memmove(buf_.data(), buf_.data() + head_, (tail_ - head_) * sizeof(const char*));
    tail_ -= head_;
    head_ = 0;
    while (tail_ < n && next_ < end_) {
      const auto len = std::min(kSpan, static_cast<std::size_t>(end_ - next_));
      tail_ += list_(next_, len, buf_.data() + tail_);
      next_ += len;
    }
    return tail_;
  }
  // The ready separators, first the next one.
  const char* const* peek() const noexcept { return buf_.data() + head_; }
  void skip(std::size_t n) noexcept { head_ += n; }
  // Takes the next separator (there must be one: every region ends with a '\n').
  const char* take() {
    if (head_ == tail_) ready(1);
    return buf_[head_++];
  }

 private:
  const char* next_;  // the first byte not yet listed
  const char* end_;
  ListSeparators list_;
  std::array<const char*, kSpan + 32> buf_;  // kSpan, 10 carried over, 8 written past
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

// --- Field checks ----------------------------------------------------------------------------

// True iff p[0, len) is 1 to 18 ASCII digits. Reads 16 bytes at p (the buffer is padded).
[[gnu::always_inline]] inline bool is_number(const char* p, std::size_t len) {
  if (len - 1 >= 16) {  // 0 wraps around; 17 and 18 digits are rare
    if (len - 1 >= 18) return false;
    return std::all_of(p, p + len, [](char c) { return c >= '0' && c <= '9'; });
  }
  const __m128i d =
      _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_set1_epi8('0'));
  const auto digit = static_cast<unsigned>(
      _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)));
  const unsigned want = (1U << len) - 1;
  return (digit & want) == want;
}

// The value of 8 digits, each already minus '0', the first in the low byte: pairs, then
// quadruples, then all eight are folded with one multiply each.
[[gnu::always_inline]] inline std::uint64_t fold8(std::uint64_t w) {
  w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
  w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
  return (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;
}

// The value of p[0, len), which is_number accepted.
[[gnu::always_inline]] inline std::int64_t number(const char* p, std::size_t len) {
  constexpr std::uint64_t kZeros = 0x3030303030303030ULL;
  // Subtracting '0' borrows only out of the bytes past the field (digits are >= '0'), and
  // the shift drops those bytes, putting zeros (leading zeros) in front of the digits.
  if (len <= 8)
    return static_cast<std::int64_t>(fold8((fast_scan::load8(p) - kZeros) << (8 * (8 - len))));
  if (len <= 16) {
    const std::uint64_t high = fold8((fast_scan::load8(p) - kZeros) << (8 * (16 - len)));
    const std::uint64_t low = fold8(fast_scan::load8(p + len - 8) - kZeros);
    return static_cast<std::int64_t>(high * 100000000 + low);
  }
  std::int64_t v = 0;
  for (std::size_t i = 0; i < len; ++i) v = v * 10 + (p[i] - '0');
  return v;
}

// Rule 4: the event, or false. Reads 16 bytes at p.
[[gnu::always_inline]] inline bool parse_event(const char* p, std::size_t len, Event& e) {
  constexpr auto word = [](const char* s) {  // the first 8 bytes of a literal as load8 sees them
    std::uint64_t w = 0;
    for (int i = 7; i >= 0; --i) w = w << 8 | static_cast<unsigned char>(s[i]);
    return w;
  };
  const std::uint64_t head = fast_scan::load8(p);
  const auto tail = static_cast<std::uint16_t>(fast_scan::load8(p + 8));
  if (len == 10) {
    if (head == word("impression") && tail == ('o' | 'n' << 8)) {
      e = Event::impression;
      return true;
    }
    if (head == word("conversion") && tail == ('o' | 'n' << 8)) {
      e = Event::conversion;
      return true;
    }
    return false;
  }
  e = Event::click;
  return len == 5 && (head & 0xFFFFFFFFFFULL) == (word("click\0\0\0") & 0xFFFFFFFFFFULL);
}

// A line of exactly 10 fields: field k (0-based) is [begin(k), end(k)); the line's '\n' and a
// '\r' before it are not part of field 9.
struct Record {
  const char* start;
  const char* const* tab;  // the 9 tabs
  const char* stop;        // the end of field 9
  Event event;

  const char* begin(int k) const { return k == 0 ? start : tab[k - 1] + 1; }
  const char* end(int k) const { return k == 9 ? stop : tab[k]; }
  std::size_t size(int k) const { return static_cast<std::size_t>(end(k) - begin(k)); }
  std::string_view field(int k) const { return {begin(k), size(k)}; }
  [[gnu::always_inline]] std::int64_t value(int k) const { return number(begin(k), size(k)); }
};

enum Field { kTs, kUser, kSession, kEvent, kCampaign, kAd, kUrl, kCountry, kDevice, kCost };

// Rules 2-4 for a line whose tabs are known (sets r.event). Branch-free: every line is
// checked in full.
[[gnu::always_inline]] inline bool fields_valid(Record& r) {
  const bool texts = (r.size(kUser) != 0) & (r.size(kSession) != 0) & (r.size(kUrl) != 0) &
                     (r.size(kCountry) != 0) & (r.size(kDevice) != 0);
  const bool numbers =
      is_number(r.begin(kTs), r.size(kTs)) & is_number(r.begin(kCampaign), r.size(kCampaign)) &
      is_number(r.begin(kAd), r.size(kAd)) & is_number(r.begin(kCost), r.size(kCost));
  return texts & numbers & parse_event(r.begin(kEvent), r.size(kEvent), r.event);
}

// Rule 5 for a line with bytes >= 0x80: well-formed UTF-8 as in Unicode's table 3-7 (no
// overlong forms, no surrogates, nothing past U+10FFFF, no cut-off sequences).
bool valid_utf8(const char* begin, const char* end) {
  const auto* p = reinterpret_cast<const unsigned char*>(begin);
  const auto* const e = reinterpret_cast<const unsigned char*>(end);
  while (p < e) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::ptrdiff_t len;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // else overlong
      if (c == 0xED) hi = 0x9F;  // else a surrogate
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // else overlong
      if (c == 0xF4) hi = 0x8F;  // else past U+10FFFF
    } else {
      return false;  // a continuation byte, C0, C1 or F5..FF
    }
    if (e - p < len || p[1] < lo || p[1] > hi) return false;
    for (std::ptrdiff_t k = 2; k < len; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

// --- Lines -----------------------------------------------------------------------------------

// for_each_record over the lines of [begin, end), which ends with a '\n'.
template <class Job>
std::int64_t for_each_record_in(const char* begin, const char* end, const char* unterminated,
                                ListSeparators list, Job& job) {
  Separators seps(begin, end, list);
  std::int64_t malformed = 0;
  const char* line = begin;
  while (line < end) {
    // The fast path: the next ten separators are nine tabs and the line's '\n'.
    if (seps.ready(10) >= 10) {
      const char* const* s = seps.peek();
      const unsigned shape = (*s[0] ^ '\t') | (*s[1] ^ '\t') | (*s[2] ^ '\t') | (*s[3] ^ '\t') |
                             (*s[4] ^ '\t') | (*s[5] ^ '\t') | (*s[6] ^ '\t') | (*s[7] ^ '\t') |
                             (*s[8] ^ '\t') | (*s[9] ^ '\n');
      if (shape == 0) {
        const char* stop = s[9] - (s[9][-1] == '\r' && s[9] != unterminated);
        Record r{line, s, stop, Event::impression};
        if (fields_valid(r)) {
          job.add(r);
        } else {
          ++malformed;
        }
        seps.skip(10);
        line = s[9] + 1;
        continue;
      }
    }
    // Any other line: its separators one by one, and UTF-8 checked from its first byte >= 0x80.
    const char* tabs[9];
    int tab_count = 0;
    const char* first_high = nullptr;
    const char* nl;
    for (;;) {
      const char* sep = seps.take();
      if (*sep == '\n') {
        nl = sep;
        break;
      }
      if (*sep == '\t') {
        if (tab_count < 9) tabs[tab_count] = sep;
        ++tab_count;
      } else if (first_high == nullptr) {
        first_high = sep;
      }
    }
    const char* stop = nl - (nl > line && nl[-1] == '\r' && nl != unterminated);
    Record r{line, tabs, stop, Event::impression};
    if (tab_count == 9 && fields_valid(r) &&
        (first_high == nullptr || valid_utf8(first_high, stop))) {
      job.add(r);
    } else {
      ++malformed;
    }
    line = nl + 1;
  }
  return malformed;
}

// Calls job.add(record) for every valid record of the log and returns the number of malformed
// lines; the header line is neither. A job may keep pointers into a piece until its drain(),
// called before the next piece overwrites it.
template <class Job>
std::int64_t for_each_record(fast_scan::ChunkedFile& file, Job& job) {
  const ListSeparators list = pick_list_separators();
  fast_scan::ChunkedFile::Piece piece;
  const auto after_last_newline = [](char* begin, char* end) -> char* {
    const void* nl = ::memrchr(begin, '\n', static_cast<std::size_t>(end - begin));
    return nl == nullptr ? nullptr : static_cast<char*>(const_cast<void*>(nl)) + 1;
  };
  std::int64_t malformed = 0;
  bool header = true;
  while (file.next(piece, after_last_newline)) {
    char* begin = piece.begin;
    char* end = piece.end;
    if (header) {  // the first piece holds the whole first line, or is the whole file
      const void* nl = std::memchr(begin, '\n', static_cast<std::size_t>(end - begin));
      if (nl == nullptr) break;
      begin = static_cast<char*>(const_cast<void*>(nl)) + 1;
      header = false;
    }
    // A last line without '\n' gets one in the padding, so that every line ends in one; its
    // '\r' (if any) then stays data, as only a '\r' before a real '\n' is dropped.
    const char* unterminated = nullptr;
    if (piece.last && begin < end && end[-1] != '\n') {
      *end = '\n';
      unterminated = end++;
    }
    malformed += for_each_record_in(begin, end, unterminated, list, job);
    job.drain();
  }
  return malformed;
}

// --- Shared pieces of the jobs ---------------------------------------------------------------

// Table lookups a few records behind the parse: the job fills in a queued item and prefetches
// its bucket; the oldest item is applied when kDepth wait, its bucket by then in cache.
template <class Item>
class Pipeline {
 public:
  static constexpr std::size_t kDepth = 16;

  // The item to fill in next, after applying the one that was there. (Filled in place: an
  // item built apart and copied in was read back with loads that span several stores, which
  // stall store forwarding.)
  template <class Apply>
  Item& next(Apply&& apply) {
    Item& slot = ring_[n_ % kDepth];
    if (n_ >= kDepth) apply(slot);
    ++n_;
    return slot;
  }
  template <class Apply>
  void drain(Apply&& apply) {
    for (std::size_t i = n_ > kDepth ? n_ - kDepth : 0; i < n_; ++i) apply(ring_[i % kDepth]);
    n_ = 0;
  }

 private:
  std::array<Item, kDepth> ring_;
  std::size_t n_ = 0;
};

inline KeyRef key_of(std::string_view s) {
  KeyRef k;
  fast_scan::make_key(s.data(), s.size(), k);
  return k;
}

// A value per campaign id, zero until used: an array for small ids (the generator's are
// 1..1010), a hash map beyond.
template <class T>
class PerCampaign {
 public:
  T& operator[](std::int64_t id) {
    if (static_cast<std::uint64_t>(id) >= kDirect) return other_[id];
    return direct_[static_cast<std::size_t>(id)];
  }
  // Calls f(id, value) by id ascending, for every id used and some unused (zero) ones.
  template <class F>
  void for_each_sorted(F&& f) const {
    for (std::size_t id = 0; id < kDirect; ++id) f(static_cast<std::int64_t>(id), direct_[id]);
    std::vector<std::pair<std::int64_t, T>> rest(other_.begin(), other_.end());
    std::sort(rest.begin(), rest.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [id, v] : rest) f(id, v);
  }

 private:
  static constexpr std::size_t kDirect = 1 << 12;
  std::vector<T> direct_ = std::vector<T>(kDirect);
  boost::unordered_flat_map<std::int64_t, T> other_;
};

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

// --- J1 ctr ----------------------------------------------------------------------------------

struct CtrJob {
  PerCampaign<std::array<std::int64_t, 3>> counts;

  [[gnu::always_inline]] void add(const Record& r) {
    ++counts[r.value(kCampaign)][static_cast<std::size_t>(r.event)];
  }
  void drain() {}
};

Result run_ctr(fast_scan::ChunkedFile& input) {
  CtrJob job;
  Result r;
  r.malformed = for_each_record(input, job);
  r.text = header(spate::ClickJob::ctr);
  job.counts.for_each_sorted([&](std::int64_t id, const std::array<std::int64_t, 3>& n) {
    if (n[0] == 0 && n[1] == 0 && n[2] == 0) return;  // no record: not a row
    append_line(r.text, {std::to_string(id), std::to_string(n[0]), std::to_string(n[1]),
                         std::to_string(n[2]), spate::format_ratio(n[1], n[0])});
  });
  return r;
}

// --- J2 uniques ------------------------------------------------------------------------------

// Countries get dense ids by first sight. A user's slot holds one bit per country (id < 64)
// they were seen in, so a record costs one lookup in the big table; countries from id 64 on
// (there are 50 in the generator's data) keep a set of users each.
struct UniquesJob {
  using Table = fast_scan::StringTable<std::uint64_t>;
  Table country_ids{4};  // country -> id + 1
  std::vector<std::string> countries;
  Table users;                                     // user -> bits of the countries seen
  std::vector<std::unique_ptr<Table>> more_users;  // country 64 + i -> its users

  struct Item {
    KeyRef user;
    std::uint64_t country;
  };
  Pipeline<Item> pipeline;

  std::uint64_t country_id(std::string_view country) {
    std::uint64_t& id = country_ids[key_of(country)];
    if (id == 0) {
      countries.emplace_back(country);
      id = countries.size();
      if (id > 64) more_users.push_back(std::make_unique<Table>(4));
    }
    return id - 1;
  }
  void apply(const Item& it) {
    if (it.country < 64) {
      users[it.user] |= std::uint64_t{1} << it.country;
    } else {
      (*more_users[it.country - 64])[it.user] = 1;
    }
  }
  [[gnu::always_inline]] void add(const Record& r) {
    Item& it = pipeline.next([this](const Item& i) { apply(i); });
    fast_scan::make_key(r.begin(kUser), r.size(kUser), it.user);
    it.country = country_id(r.field(kCountry));
    users.prefetch(it.user.hash);
  }
  void drain() {
    pipeline.drain([this](const Item& i) { apply(i); });
  }
};

Result run_uniques(fast_scan::ChunkedFile& input) {
  UniquesJob job;
  Result r;
  r.malformed = for_each_record(input, job);
  std::vector<std::int64_t> n(job.countries.size(), 0);
  const auto* slots = job.users.slots();
  for (std::size_t i = 0; i < job.users.capacity(); ++i) {
    for (std::uint64_t bits = slots[i].value; bits != 0; bits &= bits - 1) {
      ++n[static_cast<std::size_t>(std::countr_zero(bits))];
    }
  }
  for (std::size_t c = 64; c < n.size(); ++c) {
    n[c] = static_cast<std::int64_t>(job.more_users[c - 64]->size());
  }
  std::vector<std::size_t> order(n.size());
  for (std::size_t c = 0; c < order.size(); ++c) order[c] = c;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return job.countries[a] < job.countries[b]; });
  r.text = header(spate::ClickJob::uniques);
  for (std::size_t c : order) append_line(r.text, {job.countries[c], std::to_string(n[c])});
  return r;
}

// --- J3 join ---------------------------------------------------------------------------------

// Calls on_line for every line of a small file after the first (the header), without its '\n'
// and a '\r' just before one.
template <class OnLine>
void for_each_data_line(std::string_view data, OnLine&& on_line) {
  std::size_t p = data.find('\n');
  if (p == std::string_view::npos) return;
  for (++p; p < data.size();) {
    std::size_t nl = data.find('\n', p);
    std::string_view line;
    if (nl == std::string_view::npos) {
      line = data.substr(p);
      p = data.size();
    } else {
      line = data.substr(p, nl - p);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      p = nl + 1;
    }
    on_line(line);
  }
}

struct JoinJob {
  PerCampaign<std::int64_t> spend;

  [[gnu::always_inline]] void add(const Record& r) {
    if (r.event == Event::impression) spend[r.value(kCampaign)] += r.value(kCost);
  }
  void drain() {}
};

Result run_join(fast_scan::ChunkedFile& input, const std::string& campaigns_path) {
  struct Totals {
    std::int64_t spend = 0;
    std::int64_t budget = 0;
  };
  std::map<std::string, Totals> per_advertiser;  // ordered by bytes, as the output wants
  boost::unordered_flat_map<std::int64_t, Totals*> campaign_owner;
  const std::string campaigns = fast_scan::read_whole_file(campaigns_path);
  spate::Campaign row;
  for_each_data_line(campaigns, [&](std::string_view line) {
    if (!spate::parse_campaign(line, row)) return;
    Totals& t = per_advertiser[std::string(row.advertiser)];
    t.budget += row.budget_micros;
    campaign_owner.emplace(row.campaign_id, &t);
  });
  JoinJob job;
  Result r;
  r.malformed = for_each_record(input, job);
  job.spend.for_each_sorted([&](std::int64_t id, std::int64_t spend) {  // adding 0 is harmless
    if (auto it = campaign_owner.find(id); it != campaign_owner.end()) it->second->spend += spend;
  });
  r.text = header(spate::ClickJob::join);
  for (const auto& [advertiser, t] : per_advertiser) {
    append_line(r.text, {advertiser, std::to_string(t.spend), std::to_string(t.budget),
                         spate::format_ratio(t.spend, t.budget)});
  }
  return r;
}

// --- J4 sessions -----------------------------------------------------------------------------

// Every record's timestamp, in file order: as 32-bit offsets from a base 2^31 ms before the first
// one (the ±24 days around it cover any one log in practice), switching once to 64-bit values
// when one falls outside. Half the memory, and fresh memory is dear on the VM (a page fault
// costs microseconds).
class Timestamps {
 public:
  void push_back(std::int64_t ts) {
    if (!wide_mode_) {
      if (narrow_.size() == 0) base_ = ts - (std::int64_t{1} << 31);
      const auto offset = static_cast<std::uint64_t>(ts - base_);  // ts - base_ cannot overflow
      if (offset <= UINT32_MAX) {
        narrow_.push_back(static_cast<std::uint32_t>(offset));
        return;
      }
      widen();
    }
    wide_.push_back(ts);
  }
  std::size_t size() const { return wide_mode_ ? wide_.size() : narrow_.size(); }
  bool wide_mode() const { return wide_mode_; }
  const std::uint32_t* narrow() const { return narrow_.data(); }  // offsets from a base
  const std::int64_t* wide() const { return wide_.data(); }

 private:
  void widen() {
    for (std::uint32_t offset : narrow_) wide_.push_back(base_ + offset);
    narrow_.clear_and_release();
    wide_mode_ = true;
  }
  fast_scan::BigVector<std::uint32_t> narrow_;
  fast_scan::BigVector<std::int64_t> wide_;
  std::int64_t base_ = 0;
  bool wide_mode_ = false;
};

// Users get dense ids; every record leaves its user id and timestamp in two arrays.
struct SessionsJob {
  fast_scan::StringTable<std::uint64_t> users;  // user -> id + 1
  fast_scan::BigVector<std::uint32_t> record_user;
  Timestamps record_ts;

  struct Item {
    KeyRef user;
    std::int64_t ts;
  };
  Pipeline<Item> pipeline;

  void apply(const Item& it) {
    std::uint64_t& id = users[it.user];
    if (id == 0) id = users.size();  // the count with this user
    record_user.push_back(static_cast<std::uint32_t>(id - 1));
    record_ts.push_back(it.ts);
  }
  [[gnu::always_inline]] void add(const Record& r) {
    Item& it = pipeline.next([this](const Item& i) { apply(i); });
    fast_scan::make_key(r.begin(kUser), r.size(kUser), it.user);
    it.ts = r.value(kTs);
    users.prefetch(it.user.hash);
  }
  void drain() {
    pipeline.drain([this](const Item& i) { apply(i); });
  }
};

// Sorts a[0, n), expected nearly sorted already (a user's records come in time order with a
// little jitter): insertion sort, which is linear then, giving up for std::sort if it moves
// more than a few elements per element.
template <class T>
void sort_nearly_sorted(T* a, std::size_t n) {
  std::size_t budget = 8 * n + 64;
  for (std::size_t i = 1; i < n; ++i) {
    const T x = a[i];
    std::size_t j = i;
    for (; j > 0 && a[j - 1] > x; --j) a[j] = a[j - 1];
    a[j] = x;
    if (i - j > budget) {
      std::sort(a, a + n);
      return;
    }
    budget -= i - j;
  }
}

struct SessionTotals {
  std::int64_t sessions = 0;
  std::int64_t duration = 0;
};

// J4 over records whose user ids and timestamps (T: offsets from any base, or the values; only
// differences matter) are given: a counting sort groups the timestamps by user, keeping file
// order within a user, then each user's are sorted and split where gaps exceed 30 minutes.
template <class T>
SessionTotals sessionize(const std::uint32_t* user, const T* ts, std::size_t records,
                         std::size_t users) {
  fast_scan::BigVector<std::size_t> start;  // user u's timestamps: by_user[start[u], start[u + 1])
  start.resize_zeroed(users + 1);
  for (std::size_t i = 0; i < records; ++i) ++start[user[i] + 1];
  for (std::size_t u = 0; u < users; ++u) start[u + 1] += start[u];
  fast_scan::BigVector<T> by_user;
  by_user.resize_zeroed(records);
  for (std::size_t i = 0; i < records; ++i) by_user[start[user[i]]++] = ts[i];
  // start[u] is now where user u + 1 starts.
  SessionTotals t;
  std::size_t first = 0;
  for (std::size_t u = 0; u < users; ++u) {
    T* const run = by_user.data() + first;
    const std::size_t n = start[u] - first;
    first = start[u];
    sort_nearly_sorted(run, n);
    T session_start = run[0];
    ++t.sessions;
    for (std::size_t i = 1; i < n; ++i) {
      if (static_cast<std::int64_t>(run[i] - run[i - 1]) > spate::kSessionGapMs) {
        t.duration += static_cast<std::int64_t>(run[i - 1] - session_start);
        ++t.sessions;
        session_start = run[i];
      }
    }
    t.duration += static_cast<std::int64_t>(run[n - 1] - session_start);
  }
  return t;
}

Result run_sessions(fast_scan::ChunkedFile& input) {
  SessionsJob job;
  Result r;
  r.malformed = for_each_record(input, job);
  const std::size_t users = job.users.size();
  const std::size_t records = job.record_ts.size();
  job.users.release();  // its pages are recycled for sessionize's arrays: fresh memory is dear
  const SessionTotals t =
      job.record_ts.wide_mode()
          ? sessionize(job.record_user.data(), job.record_ts.wide(), records, users)
          : sessionize(job.record_user.data(), job.record_ts.narrow(), records, users);
  r.text = header(spate::ClickJob::sessions);
  append_line(r.text, {std::to_string(users), std::to_string(t.sessions),
                       spate::format_ratio(static_cast<std::int64_t>(records), t.sessions),
                       spate::format_ms_as_seconds(t.duration, t.sessions)});
  return r;
}

// --- J5 wordcount ----------------------------------------------------------------------------

struct UrlCountJob {
  fast_scan::StringTable<std::int64_t> counts;
  Pipeline<KeyRef> pipeline;

  [[gnu::always_inline]] void add(const Record& r) {
    KeyRef& url = pipeline.next([this](const KeyRef& k) { ++counts[k]; });
    fast_scan::make_key(r.begin(kUrl), r.size(kUrl), url);
    counts.prefetch(url.hash);
  }
  void drain() {
    pipeline.drain([this](const KeyRef& k) { ++counts[k]; });
  }
};

Result run_wordcount(fast_scan::ChunkedFile& input) {
  UrlCountJob job;
  Result r;
  r.malformed = for_each_record(input, job);
  using Slot = fast_scan::StringTable<std::int64_t>::Slot;
  std::vector<const Slot*> rows;
  rows.reserve(job.counts.size());
  for (std::size_t i = 0; i < job.counts.capacity(); ++i) {
    if (job.counts.slots()[i].len != 0) rows.push_back(&job.counts.slots()[i]);
  }
  const std::size_t top = std::min(rows.size(), spate::kWordcountTop);
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(top), rows.end(),
                    [](const Slot* a, const Slot* b) {
                      return a->value != b->value ? a->value > b->value : a->key() < b->key();
                    });
  r.text = header(spate::ClickJob::wordcount);
  for (std::size_t i = 0; i < top; ++i) {
    append_line(r.text, {rows[i]->key(), std::to_string(rows[i]->value)});
  }
  return r;
}

// --- main ------------------------------------------------------------------------------------

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
    fast_scan::ChunkedFile input(args.input, 256 << 10);
    Result r;
    switch (args.job) {
      case spate::ClickJob::ctr:
        r = run_ctr(input);
        break;
      case spate::ClickJob::uniques:
        r = run_uniques(input);
        break;
      case spate::ClickJob::join:
        r = run_join(input, args.campaigns);
        break;
      case spate::ClickJob::sessions:
        r = run_sessions(input);
        break;
      case spate::ClickJob::wordcount:
        r = run_wordcount(input);
        break;
    }
    write_result(r.text, args.out);
    std::fprintf(stderr, "skipped %lld malformed lines\n", static_cast<long long>(r.malformed));
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", spate::usage_hint("spate-handwritten-clicks", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {  // spate::error, or the reader's std::runtime_error
    std::fprintf(stderr, "spate-handwritten-clicks: %s\n", e.what());
    return 1;
  }
}
