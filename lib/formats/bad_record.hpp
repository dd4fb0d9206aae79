// The message of a malformed record in strict mode, shared by the CSV and JSON-lines readers.
// Internal; included as "formats/bad_record.hpp".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "io/input_split.hpp"

namespace spate::detail {

/// Throws input_error "PATH:LINE: malformed FORMAT record (byte offset N): REASON: "TEXT"", with
/// the record's first 200 bytes shown safely (control bytes and invalid UTF-8 as \xNN). Finds the
/// line number by reading the file up to offset, which is slow and done only here.
[[noreturn]] void throw_bad_record(const InputSplit& split, std::uint64_t offset, std::string_view format,
                                   std::string_view reason, std::string_view record);

/// bytes as a message may show them: valid UTF-8 as it is, '\\' and control bytes and bytes of
/// invalid UTF-8 as \\ and \xNN, so no NUL or terminal escape reaches a terminal.
std::string shown_text(std::string_view bytes);

}  // namespace spate::detail
