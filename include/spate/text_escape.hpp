// The escaping of save_as_text_file's default format, and its inverse for a job that reads the
// output back.
//
// Every field the default format writes (each string, each element of a pair or tuple, anything
// formatted through fmt) has its backslash, tab, newline and carriage return written as the two
// characters `\\`, `\t`, `\n`, `\r`, as Hive's text format does. So a line always holds exactly
// its record, and a pair or tuple line exactly its fields, split by the only raw tabs in it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace spate {

/// Appends `field` to `out` with `\`, tab, newline and carriage return escaped. Copies the bytes
/// as they are when none is present.
void append_escaped_text_field(std::string& out, std::string_view field);

/// `field` escaped as save_as_text_file's default format writes it.
std::string escape_text_field(std::string_view field);

/// The inverse of escape_text_field: `\\`, `\t`, `\n` and `\r` become the characters they
/// stand for. Throws input_error, naming the byte offset, for a backslash followed by anything
/// else or by nothing (text the default format cannot have written).
std::string unescape_text_field(std::string_view field);

/// A line of the default format split into its fields at the tabs, each unescaped: the fields
/// of the pair or tuple it was written from (one field for any other record). Throws
/// input_error as unescape_text_field does.
std::vector<std::string> split_text_fields(std::string_view line);

}  // namespace spate
