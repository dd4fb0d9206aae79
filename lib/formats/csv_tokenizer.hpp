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
