// The escaping of save_as_text_file's default format, and its inverse.
#include "spate/text_escape.hpp"

#include <fmt/format.h>

#include <cstring>

#include "spate/error.hpp"

namespace spate {
namespace {

/// The escape letter of a byte that must be escaped, or 0.
char escape_letter(char c) noexcept {
  switch (c) {
    case '\\': return '\\';
    case '\t': return 't';
    case '\n': return 'n';
    case '\r': return 'r';
    default: return 0;
  }
}

}  // namespace

void append_escaped_text_field(std::string& out, std::string_view field) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < field.size(); ++i) {
    char letter = escape_letter(field[i]);
    if (letter == 0) continue;
    out.append(field.data() + start, i - start);
    out += '\\';
    out += letter;
    start = i + 1;
  }
  out.append(field.data() + start, field.size() - start);
}

std::string escape_text_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  append_escaped_text_field(out, field);
  return out;
}

std::string unescape_text_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out += field[i];
      continue;
    }
    if (i + 1 == field.size())
      throw input_error(fmt::format(
          "unescape_text_field: a lone backslash ends the field at byte {} (the default text "
          "format writes a backslash as \\\\)",
          i));
    switch (field[++i]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default:
        throw input_error(fmt::format(
            "unescape_text_field: unknown escape '\\{}' at byte {} (the default text format "
            "writes only \\\\, \\t, \\n and \\r)",
            field[i], i - 1));
    }
  }
  return out;
}

std::vector<std::string> split_text_fields(std::string_view line) {
  std::vector<std::string> fields;
  for (;;) {
    std::size_t tab = line.find('\t');
    fields.push_back(unescape_text_field(line.substr(0, tab)));
    if (tab == std::string_view::npos) return fields;
    line.remove_prefix(tab + 1);
  }
}

}  // namespace spate
