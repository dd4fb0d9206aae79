// Messages about malformed records: where (file, line, offset), why, and the bytes, shown safely.
#include "formats/bad_record.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "io/line_reader.hpp"
#include "spate/error.hpp"

namespace spate::detail {

std::string shown_text(std::string_view bytes) {
  const bool valid = simdjson::validate_utf8(bytes.data(), bytes.size());
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u == 0x7f || (u >= 0x80 && !valid)) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

void throw_bad_record(const InputSplit& split, std::uint64_t offset, std::string_view format,
                      std::string_view reason, std::string_view record) {
  constexpr std::size_t kShown = 200;
  std::string_view head = record.substr(0, kShown);
  // Cutting may split a UTF-8 sequence; back off to its start so the rest still shows as text.
  if (head.size() < record.size()) {
    std::size_t cut = head.size();
    for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(record[cut]) & 0xC0) == 0x80; ++i) --cut;
    head = head.substr(0, cut);
  }
  throw input_error(fmt::format("{}:{}: malformed {} record (byte offset {}): {}: \"{}{}\"", split.path,
                                line_number_at(split, offset), format, offset, reason,
                                shown_text(head), head.size() < record.size() ? "..." : ""));
}

}  // namespace spate::detail
