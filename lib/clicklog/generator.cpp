// The click-log generator: skewed valid rows from one random stream, malformed lines from
// another, the campaigns table from a third; all integer arithmetic after table set-up.
#include <spate/clicklog_generator.hpp>

#include <spate/error.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <vector>

namespace spate {
namespace {

// ---- randomness ------------------------------------------------------------------------------

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A stateless 64-bit mix, for attributes that must follow from an id (a user's home country).
std::uint64_t mix64(std::uint64_t x) noexcept {
  std::uint64_t state = x;
  return splitmix64(state);
}

// xoshiro256**: small, fast, and the same output everywhere (std:: distributions are not).
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t x = seed ^ mix64(stream);
    for (auto& w : s_) w = splitmix64(x);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform-enough integer in [0, n) for n >= 1 (multiply-shift; bias below 2^-32 here).
  std::uint64_t below(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Stream ids, so that each kind of data has its own independent sequence.
constexpr std::uint64_t kRowStream = 1;
constexpr std::uint64_t kBadStream = 2;
constexpr std::uint64_t kCampaignStream = 3;

// Walker/Vose alias table: O(1) sampling of a fixed discrete distribution from one 64-bit draw.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) : slots_(weights.size()) {
    const std::size_t n = weights.size();
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back();
      small.pop_back();
      const std::uint32_t l = large.back();
      slots_[s] = make_slot(scaled[s], s, l);
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers are 1 up to rounding: they keep their own index always.
    for (std::uint32_t i : small) slots_[i] = Slot{0, i};
    for (std::uint32_t i : large) slots_[i] = Slot{0, i};
  }

  /// An index in [0, size) with probability proportional to its weight.
  std::uint32_t sample(std::uint64_t r) const noexcept {
    const auto i = static_cast<std::uint32_t>(((r >> 32) * slots_.size()) >> 32);
    const Slot& slot = slots_[i];
    return static_cast<std::uint32_t>(r) < slot.threshold ? i : slot.alias;
  }

  std::size_t size() const noexcept { return slots_.size(); }

 private:
  // Own index with probability threshold / 2^32, else alias (alias == own index: always own).
  struct Slot {
    std::uint32_t threshold = 0;
    std::uint32_t alias = 0;
  };
  static Slot make_slot(double p, std::uint32_t own, std::uint32_t alias) noexcept {
    if (p >= 1.0) return Slot{0, own};
    return Slot{static_cast<std::uint32_t>(std::max(p, 0.0) * 4294967296.0), alias};
  }
  std::vector<Slot> slots_;
};

// Zipf weights k^-1.125 for ranks 1..n. The exponent 1 + 1/8 needs only sqrt, which IEEE-754
// rounds exactly, so the tables (and so the output) do not depend on the platform's libm.
std::vector<double> zipf_weights(std::size_t n) {
  std::vector<double> w(n);
  for (std::size_t k = 1; k <= n; ++k) {
    const auto x = static_cast<double>(k);
    w[k - 1] = 1.0 / (x * std::sqrt(std::sqrt(std::sqrt(x))));
  }
  return w;
}

// ---- the fixed vocabulary --------------------------------------------------------------------

// Most frequent first: the Zipf rank is the position.
constexpr std::array<std::string_view, 50> kCountries = {
    "US", "IN", "BR", "GB", "DE", "FR", "ID", "JP", "MX", "CA", "IT", "ES", "KR",
    "TR", "RU", "PH", "VN", "NG", "PL", "AR", "NL", "TH", "EG", "PK", "SA", "AU",
    "CO", "ZA", "MY", "UA", "SE", "BE", "CH", "AT", "CL", "PE", "NO", "DK", "FI",
    "IE", "PT", "GR", "CZ", "RO", "HU", "IL", "NZ", "SG", "AE", "BD"};

// Two non-ASCII categories keep UTF-8 (and raw byte ordering) on the valid path.
constexpr std::array<std::string_view, 24> kCategories = {
    "electronics", "fashion", "home",   "sports",  "beauty", "toys",   "books",  "grocery",
    "garden",      "shoes",   "health", "café",    "music",  "games",  "pets",   "office",
    "automotive",  "baby",    "tools",  "jewelry", "müsli",  "crafts", "movies", "outdoor"};

constexpr std::array<std::string_view, 4> kDevices = {"mobile", "desktop", "tablet", "ctv"};
constexpr std::array<double, 4> kDeviceWeights = {60, 30, 7, 3};

// Advertiser names: prefix x suffix. Mixed case and UTF-8 so that byte order is visible.
constexpr std::array<std::string_view, 24> kAdvertiserPrefixes = {
    "Acme",  "Globex", "Initech", "Umbrella", "Hooli",  "Vandelay", "Soylent", "Tyrell",
    "Wonka", "Oscorp", "Monarch", "Bluth",    "Duff",   "Nakatomi", "Pied",    "Gekko",
    "acme",  "zephyr", "nimbus",  "Ørsted",   "Éclair", "Zoë's",    "Ünal",    "Aalto"};
constexpr std::array<std::string_view, 8> kAdvertiserSuffixes = {
    "Media", "Labs", "Retail", "Foods", "Travel", "Games", "Motors", "Bank"};

constexpr std::size_t kCampaigns = 1000;       // campaign ids 1..1000 occur in events
constexpr std::size_t kExtraCampaigns = 10;    // ids 1001..1010: dimension only
constexpr std::size_t kMissingCampaigns = 10;  // ~1% of 1..1000 left out of the dimension
constexpr std::size_t kAdvertisers = 120;
constexpr std::int64_t kMaxUsers = 100'000'000;  // the user alias table takes 8 bytes each
constexpr std::size_t kItemsPerCategory = 5000;
constexpr std::int64_t kDayStartMs = 1709251200000;  // 2024-03-01T00:00:00Z
constexpr std::int64_t kDayMs = 86'400'000;

constexpr std::string_view kClicksHeader =
    "ts\tuser_id\tsession_id\tevent\tcampaign_id\tad_id\turl\tcountry\tdevice\tcost_micros\n";
constexpr std::string_view kCampaignsHeader = "campaign_id\tadvertiser\tbudget_micros\n";

// ---- the campaigns plan (a function of the seed alone) ---------------------------------------

struct CampaignRow {
  std::int64_t id;
  std::string advertiser;
  std::int64_t budget_micros;
};

struct CampaignPlan {
  std::array<std::int64_t, kCampaigns> id_of_rank{};  // Zipf rank (0-based) -> campaign id
  std::vector<CampaignRow> rows;                      // in file order
};

CampaignPlan plan_campaigns(std::uint64_t seed) {
  Rng rng(seed, kCampaignStream);
  CampaignPlan plan;
  for (std::size_t i = 0; i < kCampaigns; ++i) {
    plan.id_of_rank[i] = static_cast<std::int64_t>(i + 1);
  }
  for (std::size_t i = kCampaigns - 1; i > 0; --i) {
    std::swap(plan.id_of_rank[i], plan.id_of_rank[rng.below(i + 1)]);
  }

  // One of the ten busiest campaigns is missing, so the inner join visibly drops spend.
  std::vector<bool> missing(kCampaigns + 1, false);
  missing[static_cast<std::size_t>(plan.id_of_rank[rng.below(10)])] = true;
  for (std::size_t left = kMissingCampaigns - 1; left > 0;) {
    const auto id = 1 + rng.below(kCampaigns);
    if (!missing[id]) {
      missing[id] = true;
      --left;
    }
  }

  std::vector<std::string> names;
  for (auto p : kAdvertiserPrefixes) {
    for (auto s : kAdvertiserSuffixes) names.push_back(std::string(p) + " " + std::string(s));
  }
  for (std::size_t i = 0; i < kAdvertisers; ++i) {
    std::swap(names[i], names[i + rng.below(names.size() - i)]);
  }
  names.resize(kAdvertisers);

  for (std::size_t id = 1; id <= kCampaigns + kExtraCampaigns; ++id) {
    const std::string& advertiser = names[rng.below(kAdvertisers)];
    // 1 to 100 currency units: 10M rows spend from a few % to several times an advertiser's.
    const auto budget = static_cast<std::int64_t>(1'000 * (1'000 + rng.below(100'000)));
    if (id <= kCampaigns && missing[id]) continue;
    plan.rows.push_back(CampaignRow{static_cast<std::int64_t>(id), advertiser, budget});
  }
  // Advertisers that own only campaigns without events: spend 0, and one with budget 0 (NA).
  for (auto& row : plan.rows) {
    if (row.id == 1001 || row.id == 1002) row.advertiser = "Prelaunch Studio";
    if (row.id == 1003) {
      row.advertiser = "Quiet Trial Co";
      row.budget_micros = 0;
    }
  }
  for (std::size_t i = plan.rows.size() - 1; i > 0; --i) {
    std::swap(plan.rows[i], plan.rows[rng.below(i + 1)]);
  }
  return plan;
}

// ---- output helpers --------------------------------------------------------------------------

char* put_uint(char* p, std::uint64_t v) noexcept {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

char* put_hex16(char* p, std::uint64_t v) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) *p++ = kHex[(v >> shift) & 0xF];
  return p;
}

char* put(char* p, std::string_view s) noexcept {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Collects output and hands it to the sink in large chunks.
class ChunkWriter {
 public:
  static constexpr std::size_t kChunk = 4 << 20;
  static constexpr std::size_t kRowRoom = 512;  // more than any valid row needs

  explicit ChunkWriter(const std::function<void(std::string_view)>& sink) : sink_(sink) {
    buf_.resize(kChunk + kRowRoom);
  }

  /// Room for one valid row; commit with advance().
  char* cursor() noexcept { return buf_.data() + used_; }
  void advance(char* end) {
    used_ = static_cast<std::size_t>(end - buf_.data());
    if (used_ >= kChunk) flush();
  }
  void append(std::string_view s) {
    if (used_ + s.size() > buf_.size()) {
      flush();
      if (s.size() > buf_.size()) {
        emit(s);
        return;
      }
    }
    std::memcpy(buf_.data() + used_, s.data(), s.size());
    used_ += s.size();
    if (used_ >= kChunk) flush();
  }
  void flush() {
    if (used_ != 0) emit(std::string_view(buf_.data(), used_));
    used_ = 0;
  }
  std::uint64_t bytes() const noexcept { return bytes_ + used_; }

 private:
  void emit(std::string_view s) {
    sink_(s);
    bytes_ += s.size();
  }
  const std::function<void(std::string_view)>& sink_;
  std::string buf_;
  std::size_t used_ = 0;
  std::uint64_t bytes_ = 0;
};

// ---- valid rows ------------------------------------------------------------------------------

// An impression or click that a later click or conversion of the same user can follow.
struct Seen {
  std::int64_t ts;
  std::uint64_t session;
  std::uint32_t user;
  std::uint32_t item;
  std::uint16_t campaign_rank;
  std::uint8_t ad_slot;
  std::uint8_t category;
  std::uint8_t country;
  std::uint8_t device;
};

template <std::size_t N>
class Ring {
 public:
  void push(const Seen& s) noexcept {
    items_[next_] = s;
    next_ = (next_ + 1) % N;
    if (size_ < N) ++size_;
  }
  bool empty() const noexcept { return size_ == 0; }
  const Seen& pick(Rng& rng) const noexcept { return items_[rng.below(size_)]; }

 private:
  std::array<Seen, N> items_{};
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

class RowMaker {
 public:
  RowMaker(const ClickGenOptions& o, const CampaignPlan& plan)
      : seed_(o.seed),
        users_(static_cast<std::uint64_t>(o.users)),
        rows_(o.rows),
        rng_(o.seed, kRowStream),
        user_table_(zipf_weights(users_)),
        campaign_table_(zipf_weights(kCampaigns)),
        ad_table_(zipf_weights(100)),
        category_table_(zipf_weights(kCategories.size())),
        item_table_(zipf_weights(kItemsPerCategory)),
        country_table_(zipf_weights(kCountries.size())),
        device_table_(std::vector<double>(kDeviceWeights.begin(), kDeviceWeights.end())),
        plan_(plan) {
    // Heavy users get scattered ids: id = (rank * multiplier + offset) mod users, a bijection.
    multiplier_ = (0x9E3779B97F4A7C15ULL ^ seed_) % users_;
    while (std::gcd(multiplier_, users_) != 1) multiplier_ = (multiplier_ + 1) % users_;
    if (users_ == 1) multiplier_ = 1;
    offset_ = mix64(seed_ ^ 0x5EED) % users_;
    jitter_ = 1000 + 2 * kDayMs / std::max<std::int64_t>(rows_, 1);
  }

  /// The nominal time of row i: spread over the day, before jitter.
  std::int64_t nominal_ts(std::int64_t i) const noexcept {
    return kDayStartMs + static_cast<std::int64_t>(static_cast<__int128>(i) * kDayMs /
                                                   std::max<std::int64_t>(rows_, 1));
  }

  std::uint64_t user_number(std::uint32_t rank) const noexcept {
    return static_cast<std::uint64_t>(
        (static_cast<unsigned __int128>(rank) * multiplier_ + offset_) % users_);
  }

  /// Writes valid row i (with its `\n`) at `p`; returns the end.
  char* make(std::int64_t i, char* p) {
    // Jitter of +-(1 s + two rows' spacing): rows come slightly out of order at any size.
    std::int64_t ts =
        nominal_ts(i) + static_cast<std::int64_t>(rng_.below(2 * jitter_ + 1)) - jitter_;
    ts = std::clamp(ts, kDayStartMs, kDayStartMs + kDayMs - 1);
    const auto roll = rng_.below(1000);
    Seen s;
    std::string_view event = "impression";
    std::uint64_t cost = 0;
    if (roll >= 900 && !impressions_.empty()) {
      const bool conversion = roll >= 990;
      s = conversion && !clicks_.empty() ? clicks_.pick(rng_) : impressions_.pick(rng_);
      s.ts = std::min(std::max(ts, s.ts + 200 + static_cast<std::int64_t>(rng_.below(20'000))),
                      kDayStartMs + kDayMs - 1);
      if (conversion) {
        event = "conversion";
      } else {
        event = "click";
        cost = 10'000 + rng_.below(490'001);
        clicks_.push(s);
      }
    } else {
      s.ts = ts;
      s.user = user_table_.sample(rng_.next());
      s.campaign_rank = static_cast<std::uint16_t>(campaign_table_.sample(rng_.next()));
      s.ad_slot = static_cast<std::uint8_t>(ad_table_.sample(rng_.next()));
      s.category = static_cast<std::uint8_t>(category_table_.sample(rng_.next()));
      s.item = item_table_.sample(rng_.next());
      // Users mostly stay in their home country and on their usual device.
      const std::uint64_t home = mix64(seed_ ^ (std::uint64_t{s.user} << 8));
      const std::uint64_t away = rng_.next();
      s.country =
          static_cast<std::uint8_t>(country_table_.sample((away & 0x3F) < 2 ? rng_.next() : home));
      s.device = static_cast<std::uint8_t>(
          device_table_.sample(((away >> 6) & 0x1F) < 1 ? rng_.next() : mix64(home)));
      s.session =
          mix64(seed_ ^ (std::uint64_t{s.user} << 20) ^ static_cast<std::uint64_t>(ts / 1'800'000));
      cost = 50 + rng_.below(2951);
      impressions_.push(s);
    }

    const std::int64_t campaign = plan_.id_of_rank[s.campaign_rank];
    p = put_uint(p, static_cast<std::uint64_t>(s.ts));
    *p++ = '\t';
    *p++ = 'u';
    p = put_uint(p, user_number(s.user));
    *p++ = '\t';
    p = put_hex16(p, s.session);
    *p++ = '\t';
    p = put(p, event);
    *p++ = '\t';
    p = put_uint(p, static_cast<std::uint64_t>(campaign));
    *p++ = '\t';
    p = put_uint(p, static_cast<std::uint64_t>(campaign * 100 + s.ad_slot));
    *p++ = '\t';
    p = put(p, "/p/");
    p = put(p, kCategories[s.category]);
    *p++ = '/';
    // Item ranks map to scattered item numbers, different per category.
    p = put_uint(p, (std::uint64_t{s.item} * 48271 + std::uint64_t{s.category} * 7919) % 100003);
    *p++ = '\t';
    p = put(p, kCountries[s.country]);
    *p++ = '\t';
    p = put(p, kDevices[s.device]);
    *p++ = '\t';
    p = put_uint(p, cost);
    *p++ = '\n';
    return p;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t users_;
  std::int64_t rows_;
  Rng rng_;
  AliasTable user_table_;
  AliasTable campaign_table_;
  AliasTable ad_table_;
  AliasTable category_table_;
  AliasTable item_table_;
  AliasTable country_table_;
  AliasTable device_table_;
  const CampaignPlan& plan_;
  std::uint64_t multiplier_ = 1;
  std::uint64_t offset_ = 0;
  std::int64_t jitter_ = 1000;
  Ring<1024> impressions_;
  Ring<256> clicks_;
};

// ---- malformed lines -------------------------------------------------------------------------

// Invalid UTF-8: stray continuation, overlongs, a surrogate, past U+10FFFF, a bad lead byte,
// a truncated sequence (followed by the next field's tab), and a broken 2-byte sequence.
constexpr std::array<std::string_view, 9> kBadUtf8 = {
    "\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80",
    "\xFF", "\xE2\x82", "\xC3\x28"};

constexpr std::array<std::string_view, 8> kBadTs = {
    "2024-03-01T08:00:00Z", "17092512x0000",  "-1709251200000", "1709251200000.5",
    "1709251200000000000",  " 1709251200000", "0x18E0A4B2C00",  "\xEF\xBC\x91\xEF\xBC\x92"};

constexpr std::array<std::string_view, 6> kBadEvents = {"Click", "IMPRESSION", "impressions",
                                                        "view",  "click ",     "conv"};

// A row that would be valid, built from the malformed-line stream (never the valid rows' one).
std::array<std::string, 10> plausible_fields(Rng& r, std::int64_t ts, std::uint64_t users) {
  const auto campaign = 1 + r.below(kCampaigns);
  char session[16];
  put_hex16(session, r.next());
  return {std::to_string(ts),
          "u" + std::to_string(r.below(users)),
          std::string(session, 16),
          std::string(r.below(10) == 0 ? "click" : "impression"),
          std::to_string(campaign),
          std::to_string(campaign * 100 + r.below(100)),
          "/p/" + std::string(kCategories[r.below(kCategories.size())]) + "/" +
              std::to_string(r.below(100003)),
          std::string(kCountries[r.below(kCountries.size())]),
          std::string(kDevices[r.below(kDevices.size())]),
          std::to_string(50 + r.below(2951))};
}

std::string join_fields(const std::string* begin, const std::string* end) {
  std::string line;
  for (const std::string* f = begin; f != end; ++f) {
    if (f != begin) line += '\t';
    line += *f;
  }
  return line;
}

// One malformed line (with its `\n`); every kind breaks at least one rule of CLICKLOG.md.
std::string make_bad_line(Rng& r, std::int64_t ts, std::uint64_t users) {
  auto f = plausible_fields(r, ts, users);
  const auto kind = r.below(100);
  std::string line;
  if (kind < 22) {  // wrong field count: one missing, one extra, or cut short
    const auto how = r.below(3);
    if (how == 0) {
      std::vector<std::string> nine(f.begin(), f.end());
      nine.erase(nine.begin() + static_cast<std::ptrdiff_t>(r.below(10)));
      line = join_fields(nine.data(), nine.data() + nine.size());
    } else if (how == 1) {
      line = join_fields(f.data(), f.data() + 10) + "\textra";
    } else {
      const auto keep = 1 + r.below(9);  // 1..9 fields
      line = join_fields(f.data(), f.data() + keep);
    }
  } else if (kind < 37) {  // non-numeric ts
    f[0] = std::string(kBadTs[r.below(kBadTs.size())]);
    line = join_fields(f.data(), f.data() + 10);
  } else if (kind < 47) {  // empty ts
    f[0].clear();
    line = join_fields(f.data(), f.data() + 10);
  } else if (kind < 62) {  // empty line
  } else if (kind < 77) {  // invalid UTF-8 in user_id, url or device
    const std::size_t field = std::array<std::size_t, 3>{1, 6, 8}[r.below(3)];
    f[field] += kBadUtf8[r.below(kBadUtf8.size())];
    line = join_fields(f.data(), f.data() + 10);
  } else if (kind < 78) {  // 10 KB .. 1 MB, roughly log-uniform: a runaway field or a text blob
    const std::uint64_t base = std::uint64_t{10'240} << r.below(7);
    const std::size_t len = std::min<std::uint64_t>(base + r.below(base), 1'048'576);
    if (r.below(2) == 0) {
      line = join_fields(f.data(), f.data() + 10) + "\t";  // 11 fields
      while (line.size() < len) line += "/segment";
    } else {
      static constexpr std::string_view kBlob = "lorem ipsum dolor sit amet, ";
      while (line.size() < len) line += kBlob;
    }
    line.resize(len);
  } else if (kind < 88) {  // bad event
    f[3] = std::string(kBadEvents[r.below(kBadEvents.size())]);
    line = join_fields(f.data(), f.data() + 10);
  } else if (kind < 94) {  // another field empty
    f[1 + r.below(9)].clear();
    line = join_fields(f.data(), f.data() + 10);
  } else {  // a number too long for 18 digits
    f[std::array<std::size_t, 3>{4, 5, 9}[r.below(3)]] = "1234567890123456789";
    line = join_fields(f.data(), f.data() + 10);
  }
  line += '\n';
  return line;
}

void check_options(const ClickGenOptions& o) {
  if (o.rows < 0) throw config_error("click generator: --rows must be >= 0");
  if (o.users < 1 || o.users > kMaxUsers) {
    throw config_error("click generator: --users must be between 1 and 100000000");
  }
  if (!(o.bad_rate >= 0.0 && o.bad_rate <= 1.0)) {
    throw config_error("click generator: --bad-rate must be between 0 and 1");
  }
}

// Writes to a file with large unbuffered writes; every failure names the path.
class FileSink {
 public:
  explicit FileSink(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (f_ == nullptr) fail("cannot open");
    std::setvbuf(f_, nullptr, _IONBF, 0);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  ~FileSink() {
    if (f_ != nullptr) std::fclose(f_);
  }
  void write(std::string_view s) {
    if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail("cannot write");
  }
  void close() {
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw io_error(std::string("click generator: ") + what + " " + path_ + ": " +
                   std::strerror(errno));
  }
  std::string path_;
  std::FILE* f_;
};

std::string campaigns_text(const CampaignPlan& plan) {
  std::string text(kCampaignsHeader);
  for (const auto& row : plan.rows) {
    text += std::to_string(row.id);
    text += '\t';
    text += row.advertiser;
    text += '\t';
    text += std::to_string(row.budget_micros);
    text += '\n';
  }
  return text;
}

}  // namespace

std::string default_campaigns_path(const std::string& out) {
  return (std::filesystem::path(out).parent_path() / "campaigns.tsv").string();
}

ClickGenSummary generate_clicks_to(const ClickGenOptions& options,
                                   const std::function<void(std::string_view)>& sink) {
  check_options(options);
  const CampaignPlan plan = plan_campaigns(options.seed);
  // Heap-allocated: the alias tables and rings are large.
  auto maker = std::make_unique<RowMaker>(options, plan);
  Rng bad(options.seed, kBadStream);
  // bad_rate as a threshold on a 64-bit draw; 1.0 saturates to "always".
  const double scaled = options.bad_rate * 18446744073709551616.0;
  const std::uint64_t bad_threshold =
      scaled >= 18446744073709551615.0 ? ~0ULL : static_cast<std::uint64_t>(scaled);
  const bool always_bad = options.bad_rate >= 1.0;
  const auto users = static_cast<std::uint64_t>(options.users);

  ClickGenSummary summary;
  ChunkWriter out(sink);
  out.append(kClicksHeader);
  for (std::int64_t i = 0; i < options.rows; ++i) {
    if (bad_threshold != 0 && (bad.next() < bad_threshold || always_bad)) {
      out.append(make_bad_line(bad, maker->nominal_ts(i), users));
      ++summary.malformed_lines;
    }
    out.advance(maker->make(i, out.cursor()));
  }
  out.flush();
  summary.rows = options.rows;
  summary.bytes = out.bytes();
  summary.campaigns = static_cast<std::int64_t>(plan.rows.size());
  return summary;
}

std::string generate_campaigns(std::uint64_t seed) { return campaigns_text(plan_campaigns(seed)); }

ClickGenSummary generate_clicks(const ClickGenOptions& options) {
  check_options(options);
  if (options.out.empty()) throw config_error("click generator: --out is required");
  const std::string campaigns_path =
      options.campaigns_out.empty() ? default_campaigns_path(options.out) : options.campaigns_out;
  namespace fs = std::filesystem;
  if (fs::path(campaigns_path).lexically_normal() == fs::path(options.out).lexically_normal()) {
    throw config_error("click generator: the click log and the campaigns table are both " +
                       options.out + "; pass --campaigns-out");
  }

  FileSink clicks(options.out);
  ClickGenSummary summary =
      generate_clicks_to(options, [&clicks](std::string_view chunk) { clicks.write(chunk); });
  clicks.close();

  FileSink campaigns(campaigns_path);
  campaigns.write(generate_campaigns(options.seed));
  campaigns.close();

  summary.out = options.out;
  summary.campaigns_out = campaigns_path;
  return summary;
}

}  // namespace spate
