// Cutting one CSV record into fields by RFC 4180. Internal; included as "formats/csv_tokenizer.hpp".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "spate/detail/csv_source.hpp"

namespace spate::detail {

/// Splits records into fields; reuses its buffers, so one per task. Not thread-safe.
class CsvTokenizer {
 public:
  CsvTokenizer(char separator, char quote) : separator_(separator), quote_(quote) {}

  /// Splits the record [begin, end) (without its line end) into out's fields: a field in quotes
  /// may hold separators, line breaks and "" (one quote); any other field runs to the next
  /// separator. out's views point into [begin, end) or into this tokenizer (quoted fields with
  /// "" in them), valid until the next call. Returns nullptr, or why the record is malformed: a
  /// quote inside an unquoted field, text after a closing quote, or a quote never closed.
  /// With `padded`, at least 16 bytes after end may be read (they are not interpreted).
  const char* split(const char* begin, const char* end, CsvRecord& out, bool padded = false);

  /// The line that starts at begin, cut into out's fields as split() cuts it (without the '\n'
  /// and a '\r' before it) when it holds no quote: returns its '\n'. Returns nullptr, out
  /// unusable, when a quote comes before the '\n', when the line runs past max_bytes (its fields
  /// are not worth listing), or when the target has no SSE2: the caller then
  /// finds the record's end by quote parity and calls split(). One pass of vector compares
  /// finds the line's end and its separators together. A '\n' must follow begin, with at least
  /// 16 readable bytes after it (a LineReader block).
  const char* split_plain_line(const char* begin, std::size_t max_bytes, CsvRecord& out) const;

 private:
  /// A field with "" in it: its index, and where its unescaped text is in scratch_.
  struct Escaped {
    std::size_t field;
    std::size_t at;
    std::size_t size;
  };

  char separator_;
  char quote_;
  std::string scratch_;
  std::vector<Escaped> escaped_;
};

}  // namespace spate::detail
