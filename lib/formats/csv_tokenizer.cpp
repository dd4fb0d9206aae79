// The CSV field splitter: one forward pass over a record known to be complete.
#include "formats/csv_tokenizer.hpp"

#include <cstring>

namespace spate::detail {

const char* CsvTokenizer::split(const char* begin, const char* end, CsvRecord& out) {
  const char separator = separator_, quote = quote_;
  std::vector<FieldSpan>& spans = spans_;
  std::string& scratch = scratch_;
  spans.clear();
  scratch.clear();
  const char* p = begin;
  for (;;) {
    if (p < end && *p == quote) {
      const char* q = p + 1;
      const char* content = q;
      bool escaped = false;
      std::size_t scratch_at = scratch.size();
      for (;;) {
        const auto* next =
            static_cast<const char*>(std::memchr(q, quote, static_cast<std::size_t>(end - q)));
        if (next == nullptr) return "a quoted field is never closed";
        if (next + 1 < end && next[1] == quote) {
          // "" stands for one quote: copy what came before it and the quote to scratch.
          scratch.append(q, next + 1);
          escaped = true;
          q = next + 2;
          continue;
        }
        if (escaped) {
          scratch.append(q, next);
          spans.push_back({scratch_at, scratch.size() - scratch_at, true, true});
        } else {
          spans.push_back({static_cast<std::size_t>(content - begin),
                           static_cast<std::size_t>(next - content), true, false});
        }
        p = next + 1;
        break;
      }
      if (p == end) break;
      if (*p != separator) return "text after the closing quote of a field";
      ++p;
      if (p == end) {
        spans.push_back({static_cast<std::size_t>(p - begin), 0, false, false});
        break;
      }
      continue;
    }
    const char* f = p;
    while (p < end && *p != separator && *p != quote) ++p;
    if (p < end && *p == quote) return "a quote inside an unquoted field";
    spans.push_back({static_cast<std::size_t>(f - begin), static_cast<std::size_t>(p - f), false, false});
    if (p == end) break;
    ++p;  // the separator; a record ending in one has an empty last field
    if (p == end) {
      spans.push_back({static_cast<std::size_t>(p - begin), 0, false, false});
      break;
    }
  }
  out.fields_.resize(spans.size());
  out.quoted_.resize(spans.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const FieldSpan& s = spans[i];
    out.fields_[i] = std::string_view((s.in_scratch ? scratch.data() : begin) + s.begin, s.size);
    out.quoted_[i] = s.quoted;
  }
  return nullptr;
}

}  // namespace spate::detail
