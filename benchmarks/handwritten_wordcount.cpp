// spate-handwritten-wordcount: the hand-written single-threaded baseline that spate-wordcount is
// measured against.
// Usage: spate-handwritten-wordcount --input FILE [--out FILE]
// Output is byte-identical to spate-wordcount's: "word\tcount" lines, count descending, then word
// ascending (bytes), no header.
//
// What makes it fast: the file is read in 256 KB pieces into one buffer that stays in cache (a
// mapping was 3x slower to scan on the VM, see fast_scan.hpp). SIMD compares turn each 64-byte
// block into a whitespace bitmask; the bits where it flips are the word edges, listed with tzcnt.
// Words are counted in an open-addressing table whose 32-byte slots hold words of up to 16 bytes
// as two 64-bit words, two slots to a cache line compared at once: a lookup is one multiply, one
// line and one well-predicted branch. The table (64 MB here) does not fit in cache, so a span's
// words are hashed first and then counted while the slot 64 words ahead is prefetched. The output
// order comes from radix sorts (by the word's first 8 bytes, then a stable counting sort by
// count) run in the table's own free half, and rows are formatted with to_chars into a small
// buffer. Memory is on 2 MB pages and allocated sparingly: on the VM a 4 KB page fault costs
// ~10 us and fresh memory ~2 ms a MB.
#include "fast_scan.hpp"

#include <spate/command_line.hpp>

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

#include <immintrin.h>

namespace {

using fast_scan::Isa;
using fast_scan::KeyRef;

constexpr std::string_view kUsage =
    "usage: spate-handwritten-wordcount --input FILE [--out FILE]\n";

struct UsageError {
  std::string message;
};
struct WriteError {};  // fwrite fell short; errno says why

// The whitespace spate-wordcount splits on: ' ', \t, \n, \v, \f, \r (the last five are 9..13).
// '\n' also ends lines there, so splitting the whole file at once gives the same words.
constexpr bool is_space(char c) {
  return c == ' ' || static_cast<unsigned char>(c - '\t') <= '\r' - '\t';
}

// --- Whitespace bitmasks: bit i is set iff byte i of the 64 at p is whitespace. --------------

struct SpaceSse2 {
  static std::uint64_t mask(const char* p) {
    std::uint64_t m = 0;
    for (int q = 0; q < 4; ++q) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
      const __m128i t = _mm_sub_epi8(v, _mm_set1_epi8('\t'));  // 9..13 -> 0..4
      const __m128i ctrl = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(4)), t);
      const __m128i space = _mm_or_si128(ctrl, _mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
      m |= std::uint64_t{static_cast<std::uint16_t>(_mm_movemask_epi8(space))} << (16 * q);
    }
    return m;
  }
};

struct SpaceAvx2 {
  [[gnu::target("avx2,bmi,bmi2")]] static std::uint64_t mask(const char* p) {
    std::uint64_t m = 0;
    for (int h = 0; h < 2; ++h) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * h));
      const __m256i t = _mm256_sub_epi8(v, _mm256_set1_epi8('\t'));
      const __m256i ctrl = _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(4)), t);
      const __m256i space = _mm256_or_si256(ctrl, _mm256_cmpeq_epi8(v, _mm256_set1_epi8(' ')));
      m |= std::uint64_t{static_cast<std::uint32_t>(_mm256_movemask_epi8(space))} << (32 * h);
    }
    return m;
  }
};

struct SpaceAvx512 {
  [[gnu::target("avx512f,avx512bw,bmi,bmi2")]] static std::uint64_t mask(const char* p) {
    const __m512i v = _mm512_loadu_si512(p);
    const __m512i t = _mm512_sub_epi8(v, _mm512_set1_epi8('\t'));
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) |
           _mm512_cmple_epu8_mask(t, _mm512_set1_epi8(4));
  }
};

// --- Word edges ------------------------------------------------------------------------------

// The bytes one span of edges covers; its edge list (at most one edge a byte) stays in L1.
constexpr std::size_t kSpan = 2048;

// Appends to `out` where words start and end (alternately: start, one-past-end, ...) in
// [p, p + n), n <= kSpan. `space_before` is 1 when the byte before p is whitespace (or p is the
// first byte), and is updated for the next span. Bytes past p + n in its last 64-byte block count
// as whitespace, so a word that reaches p + n ends there unless p + n ends a block.
template <class Space>
[[gnu::always_inline]] inline std::size_t find_edges(const char* p, std::size_t n,
                                                     std::uint64_t& space_before,
                                                     const char** out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; i += 64) {
    std::uint64_t space = Space::mask(p + i);
    if (n - i < 64) space |= ~std::uint64_t{0} << (n - i);
    // An edge is a byte whose class differs from the byte before it.
    std::uint64_t edges = space ^ ((space << 1) | space_before);
    space_before = space >> 63;
    for (; edges != 0; edges &= edges - 1) out[count++] = p + i + std::countr_zero(edges);
  }
  return count;
}

using FindEdges = std::size_t (*)(const char*, std::size_t, std::uint64_t&, const char**);

// One copy of find_edges per instruction set, each with its mask inlined.
[[gnu::flatten]] std::size_t find_edges_sse2(const char* p, std::size_t n, std::uint64_t& s,
                                             const char** out) {
  return find_edges<SpaceSse2>(p, n, s, out);
}
[[gnu::target("avx2,bmi,bmi2"), gnu::flatten]] std::size_t find_edges_avx2(const char* p,
                                                                           std::size_t n,
                                                                           std::uint64_t& s,
                                                                           const char** out) {
  return find_edges<SpaceAvx2>(p, n, s, out);
}
[[gnu::target("avx512f,avx512bw,bmi,bmi2"), gnu::flatten]] std::size_t find_edges_avx512(
    const char* p, std::size_t n, std::uint64_t& s, const char** out) {
  return find_edges<SpaceAvx512>(p, n, s, out);
}

FindEdges pick_find_edges() {
  switch (fast_scan::best_isa()) {
    case Isa::avx512:
      return find_edges_avx512;
    case Isa::avx2:
      return find_edges_avx2;
    case Isa::sse2:
      break;
  }
  return find_edges_sse2;
}

// --- Counting --------------------------------------------------------------------------------

using WordTable = fast_scan::StringTable<std::int64_t>;

// Counts the words edges[0, 2 * words) delimit. The table is far bigger than the caches: all
// the words are hashed first, then counted while the slot of the word kAhead places on is
// prefetched, so that about kAhead misses overlap. (Prefetching in bursts of 16 and then
// counting left the memory idle during the counting: 40% slower.)
void count_words_of_span(const char* const* edges, std::size_t words, KeyRef* keys,
                         WordTable& table) {
  constexpr std::size_t kAhead = 64;
  for (std::size_t j = 0; j < words; ++j) {
    const char* start = edges[2 * j];
    fast_scan::make_key(start, static_cast<std::size_t>(edges[2 * j + 1] - start), keys[j]);
    if (j < kAhead) table.prefetch(keys[j].hash);
  }
  for (std::size_t j = 0; j < words; ++j) {
    if (j + kAhead < words) table.prefetch(keys[j + kAhead].hash);
    ++table[keys[j]];
  }
}

// One past the last whitespace byte of [begin, end), or nullptr: pieces are cut there so that
// no word is split.
char* after_last_space(char* begin, char* end) {
  for (char* q = end; q != begin; --q) {
    if (is_space(q[-1])) return q;
  }
  return nullptr;
}

// Counts every whitespace-separated word of the file.
void count_words(const std::string& path, WordTable& table) {
  const FindEdges find = pick_find_edges();
  fast_scan::ChunkedFile file(path, 256 << 10);
  std::vector<const char*> edges(kSpan + 2);
  std::vector<KeyRef> keys(kSpan / 2 + 1);
  fast_scan::ChunkedFile::Piece piece;
  while (file.next(piece, after_last_space)) {
    // A piece starts after whitespace (or at the file's start) and ends after whitespace (or
    // at the file's end), so its words pair up exactly.
    std::uint64_t space_before = 1;
    std::size_t have = 0;  // edges listed, not yet counted: one open word at most
    for (const char* s = piece.begin; s < piece.end; s += kSpan) {
      const auto n = std::min(kSpan, static_cast<std::size_t>(piece.end - s));
      have += find(s, n, space_before, edges.data() + have);
      count_words_of_span(edges.data(), have / 2, keys.data(), table);
      if (have % 2 != 0) edges[0] = edges[have - 1];
      have %= 2;
    }
    if (have != 0) {  // the file ends in a word, at a 64-byte block's end
      edges[1] = piece.end;
      count_words_of_span(edges.data(), 1, keys.data(), table);
    }
  }
}

// --- Ordering --------------------------------------------------------------------------------

// One word in the sort: its first 8 bytes big-endian (so integer order is byte order, and a
// shorter word's zero padding sorts first), its count (capped; the cap is resolved from the
// slot) and its slot.
struct Item {
  std::uint64_t prefix;
  std::uint32_t count;
  std::uint32_t slot;
};
constexpr std::uint32_t kCountCap = UINT32_MAX;

// One item per word of the compacted table.
void collect(const WordTable& table, Item* items) {
  const WordTable::Slot* slots = table.slots();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& s = slots[i];
    std::uint64_t prefix = s.lo;
    if (s.len > 16) std::memcpy(&prefix, s.key().data(), 8);
    items[i] = {__builtin_bswap64(prefix),
                static_cast<std::uint32_t>(std::min<std::int64_t>(s.value, kCountCap)),
                static_cast<std::uint32_t>(i)};
  }
}

// LSD radix sort of a[0, n) by prefix, one byte a pass, through b; returns a or b, whichever
// holds the result. Passes where every item has the same byte are skipped. Linear and stable:
// a comparison sort of the million items took several times longer.
Item* radix_sort_by_prefix(Item* a, Item* b, std::size_t n) {
  std::array<std::array<std::uint32_t, 256>, 8> hist{};
  for (std::size_t i = 0; i < n; ++i) {
    for (int d = 0; d < 8; ++d) ++hist[d][(a[i].prefix >> (8 * d)) & 0xFF];
  }
  for (int d = 0; d < 8; ++d) {
    auto& h = hist[d];
    if (std::count(h.begin(), h.end(), 0U) == 255) continue;  // all the same byte
    std::uint32_t sum = 0;
    for (auto& c : h) sum += std::exchange(c, sum);
    for (std::size_t i = 0; i < n; ++i) b[h[(a[i].prefix >> (8 * d)) & 0xFF]++] = a[i];
    std::swap(a, b);
  }
  return a;
}

// Sorts runs of items with equal prefixes (words sharing their first 8 bytes) by whole word.
void sort_prefix_ties(Item* items, std::size_t n, const WordTable::Slot* slots) {
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && items[j].prefix == items[i].prefix) ++j;
    if (j - i > 1) {
      std::sort(items + i, items + j, [&](const Item& x, const Item& y) {
        return slots[x.slot].key() < slots[y.slot].key();
      });
    }
    i = j;
  }
}

// Moves items from `in` (sorted by word) to `out` by count descending, keeping word order within
// a count: a counting sort for counts below kSmall and a stable sort of the few larger ones
// (Zipf: most words are rare).
void stable_sort_by_count(const Item* in, Item* out, std::size_t n, const WordTable::Slot* slots) {
  constexpr std::uint32_t kSmall = 4096;
  std::vector<Item> big;
  std::vector<std::uint32_t> start(kSmall + 1, 0);  // index kSmall - 1 - count: descending
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i].count < kSmall) {
      ++start[kSmall - in[i].count];
    } else {
      big.push_back(in[i]);
    }
  }
  std::stable_sort(big.begin(), big.end(), [&](const Item& a, const Item& b) {
    if (a.count != b.count) return a.count > b.count;
    return a.count == kCountCap && slots[a.slot].value > slots[b.slot].value;
  });
  std::copy(big.begin(), big.end(), out);
  start[0] = static_cast<std::uint32_t>(big.size());
  for (std::uint32_t c = 0; c < kSmall; ++c) start[c + 1] += start[c];
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i].count < kSmall) out[start[kSmall - 1 - in[i].count]++] = in[i];
  }
}

// The words in output order, count descending, then word ascending. It compacts the table and
// sorts in the table's free half (the table is at most half full: room for two item arrays).
const Item* output_order(WordTable& table) {
  const std::size_t n = table.compact();
  Item* const a = static_cast<Item*>(table.scratch());
  Item* const b = a + n;
  static_assert(2 * sizeof(Item) <= sizeof(WordTable::Slot));
  collect(table, a);
  // 1. By word: radix on the prefix, then whole words where prefixes tie (rare).
  Item* by_word = radix_sort_by_prefix(a, b, n);
  sort_prefix_ties(by_word, n, table.slots());
  // 2. Stably by count, into the other array.
  Item* const out = by_word == a ? b : a;
  stable_sort_by_count(by_word, out, n, table.slots());
  return out;
}

// Writes the rows, "word\tcount\n" each, to f through one small buffer (a buffer of the whole
// output would be fresh memory, dear on the VM).
void write_rows(const WordTable& table, const Item* order, std::FILE* f) {
  const WordTable::Slot* slots = table.slots();
  std::vector<char> buffer(1 << 18);
  char* const limit = buffer.data() + buffer.size() - 64;  // room for a short word's row
  char* out = buffer.data();
  const auto flush = [&] {
    const auto bytes = static_cast<std::size_t>(out - buffer.data());
    if (std::fwrite(buffer.data(), 1, bytes, f) != bytes) throw WriteError{};
    out = buffer.data();
  };
  constexpr std::size_t kAhead = 16;  // the slots are in random order: fetch them early
  const std::size_t n = table.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(&slots[order[i + kAhead].slot]);
    const auto& s = slots[order[i].slot];
    const std::string_view w = s.key();
    if (out > limit || w.size() > 16) {
      flush();
      if (w.size() > 16) {  // long words go straight out
        if (std::fwrite(w.data(), 1, w.size(), f) != w.size()) throw WriteError{};
      }
    }
    if (w.size() <= 16) {
      std::memcpy(out, w.data(), w.size());
      out += w.size();
    }
    *out++ = '\t';
    out = std::to_chars(out, out + 20, s.value).ptr;
    *out++ = '\n';
  }
  flush();
}

void write_result(const WordTable& table, const Item* order, const std::string& path) {
  std::FILE* f = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  bool ok = true;
  try {
    write_rows(table, order, f);
  } catch (const WriteError&) {
    ok = false;
  }
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
    WordTable table;
    count_words(input, table);
    write_result(table, output_order(table), out);
    return 0;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n",
                 spate::usage_hint("spate-handwritten-wordcount", e.message).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate-handwritten-wordcount: %s\n", e.what());
    return 1;
  }
}
