// Splits a command line into spate's own flags and the program's arguments (Boost.Program_options
// does the matching); Context validates each flag's value.
#pragma once

#include <string>
#include <vector>

namespace spate::detail {

/// One of spate's flags as given: its name with the dashes ("--master") and its value ("" for a
/// switch).
struct ContextFlag {
  std::string name;
  std::string value;
};

/// spate's flags in the order given, and every other argument (argv[0] first) in order.
struct SplitCommandLine {
  std::vector<ContextFlag> flags;
  std::vector<std::string> rest;
};

/// Recognises "--name value" and "--name=value" for every flag context_flags_help() lists,
/// anywhere in argv (a "--" argument is the program's and ends nothing); a later flag overrides
/// an earlier one. Throws config_error for a flag without its value or a switch given one.
SplitCommandLine split_context_flags(int argc, const char* const* argv);

}  // namespace spate::detail
