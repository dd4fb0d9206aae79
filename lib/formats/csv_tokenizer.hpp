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
  const char* split(const char* begin, const char* end, CsvRecord& out);

 private:
  /// A field as offsets, turned into views once scratch_ has stopped growing.
  struct FieldSpan {
    std::size_t begin;
    std::size_t size;
    bool quoted;
    bool in_scratch;
  };

  char separator_;
  char quote_;
  std::vector<FieldSpan> spans_;
  std::string scratch_;
};

}  // namespace spate::detail
