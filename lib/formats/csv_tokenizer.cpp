// The CSV field splitter: one forward pass over a record known to be complete.
#include "formats/csv_tokenizer.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spate::detail {

namespace {

/// The first byte of [p, end) that is the separator or the quote, or end. With `padded`, reads
/// whole 16-byte vectors, up to 15 bytes past end.
inline const char* next_special(const char* p, const char* end, char separator, char quote, bool padded) {
#if defined(__SSE2__)
  if (padded) {
    const __m128i s = _mm_set1_epi8(separator), q = _mm_set1_epi8(quote);
    for (; p < end; p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, s), _mm_cmpeq_epi8(v, q))));
      if (mask != 0) {
        const char* hit = p + __builtin_ctz(mask);
        return hit < end ? hit : end;
      }
    }
    return end;
  }
#else
  (void)padded;
#endif
  while (p < end && *p != separator && *p != quote) ++p;
  return p;
}

}  // namespace

const char* CsvTokenizer::split_plain_line(const char* begin, std::size_t max_bytes, CsvRecord& out) const {
#if defined(__SSE2__)
  std::vector<std::string_view>& fields = out.fields_;
  std::size_t n = 0;
  const char* field = begin;
  const __m128i s = _mm_set1_epi8(separator_), q = _mm_set1_epi8(quote_), nl = _mm_set1_epi8('\n');
  for (const char* p = begin;; p += 16) {
    if (static_cast<std::size_t>(p - begin) > max_bytes) return nullptr;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto ends = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)));
    const unsigned line = ends != 0 ? (ends & (0u - ends)) - 1 : 0xFFFFu;  // the bytes before the '\n'
    if ((static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, q))) & line) != 0) return nullptr;
    unsigned seps = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, s))) & line;
    if (fields.size() < n + 17) {
      fields.resize(n * 2 + 32);
      out.quoted_.resize(fields.size());  // split() keeps both the same size
    }
    for (; seps != 0; seps &= seps - 1) {
      const char* at = p + __builtin_ctz(seps);
      fields[n++] = std::string_view(field, static_cast<std::size_t>(at - field));
      field = at + 1;
    }
    if (ends != 0) {
      const char* end = p + __builtin_ctz(ends);
      const char* last = end > field && end[-1] == '\r' ? end - 1 : end;  // the '\r' of "\r\n"
      fields[n++] = std::string_view(field, static_cast<std::size_t>(last - field));
      std::fill_n(out.quoted_.begin(), n, 0);
      out.size_ = n;
      out.padded_ = true;
      return end;
    }
  }
#else
  (void)begin, (void)max_bytes, (void)out;
  return nullptr;
#endif
}

const char* CsvTokenizer::split(const char* begin, const char* end, CsvRecord& out, bool padded) {
  const char separator = separator_, quote = quote_;
  std::vector<std::string_view>& fields = out.fields_;
  std::vector<unsigned char>& quoted = out.quoted_;
  std::size_t n = 0;
  // The vectors keep their size from record to record; add(...) grows them only when needed.
  auto add = [&](std::string_view text, unsigned char was_quoted) {
    if (n == fields.size()) {
      fields.resize(n * 2 + 16);
      quoted.resize(n * 2 + 16);
    }
    fields[n] = text;
    quoted[n] = was_quoted;
    ++n;
  };
  out.size_ = 0;
  scratch_.clear();
  escaped_.clear();
  const char* p = begin;
  for (;;) {
    if (p < end && *p == quote) {
      const char* q = p + 1;
      const char* content = q;
      bool escaped = false;
      const std::size_t scratch_at = scratch_.size();
      for (;;) {
        const auto* next =
            static_cast<const char*>(std::memchr(q, quote, static_cast<std::size_t>(end - q)));
        if (next == nullptr) return "a quoted field is never closed";
        if (next + 1 < end && next[1] == quote) {
          // "" stands for one quote: copy what came before it, and the quote, to scratch.
          scratch_.append(q, next + 1);
          escaped = true;
          q = next + 2;
          continue;
        }
        if (escaped) {
          scratch_.append(q, next);
          // scratch_ may still move: the view is made once the record is done.
          escaped_.push_back({n, scratch_at, scratch_.size() - scratch_at});
          add({}, 1);
        } else {
          add(std::string_view(content, static_cast<std::size_t>(next - content)), 1);
        }
        p = next + 1;
        break;
      }
      if (p == end) break;
      if (*p != separator) return "text after the closing quote of a field";
      ++p;
      if (p == end) {
        add(std::string_view(p, 0), 0);
        break;
      }
      continue;
    }
    const char* f = p;
    p = next_special(p, end, separator, quote, padded);
    if (p < end && *p == quote) return "a quote inside an unquoted field";
    add(std::string_view(f, static_cast<std::size_t>(p - f)), 0);
    if (p == end) break;
    ++p;  // the separator; a record ending in one has an empty last field
    if (p == end) {
      add(std::string_view(p, 0), 0);
      break;
    }
  }
  out.size_ = n;
  out.padded_ = padded && escaped_.empty();  // unescaped copies in scratch_ have no padding
  for (const Escaped& e : escaped_) fields[e.field] = std::string_view(scratch_.data() + e.at, e.size);
  return nullptr;
}

}  // namespace spate::detail
