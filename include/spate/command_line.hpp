// Command-line help for programs built on spate: the flags a Context reads, and one-line hints
// for arguments a program does not take.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace spate {

/// True when argv asks for help: `--help` or `-h` anywhere after the program name.
bool help_requested(int argc, const char* const* argv) noexcept;

/// The flags that Context(argc, argv) reads, one a line with what each does, for a program's
/// --help text (it ends with a newline).
std::string_view context_flags_help() noexcept;

/// One line for a command-line mistake: "PROGRAM: PROBLEM (PROGRAM --help lists the flags)".
std::string usage_hint(std::string_view program, std::string_view problem);

/// The problem with an argument the program does not take, for usage_hint: names it and
/// suggests the nearest flag of `known` or of Context's own when it looks like a typo of one.
std::string unknown_argument(std::string_view argument, std::initializer_list<std::string_view> known);

}  // namespace spate
