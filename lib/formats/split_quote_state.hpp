// Where a CSV split starts relative to quotes: a split cannot tell from its own bytes whether its
// first line continues a quoted field, so the planner counts quotes before it, once per file.
// Internal; included as "formats/split_quote_state.hpp".
#pragma once

#include <vector>

#include "io/input_split.hpp"

namespace spate::detail {

/// For each split (planned by plan_splits: a file's splits adjacent and in order), whether its
/// first line (the first line LineReader gives it: the one after the first '\n' at or after
/// begin - 1) starts inside a quoted field, i.e. after an odd number of quote bytes. False for a
/// split at offset 0 and for compressed files (one split each). Reads every plain file that has
/// more than one split up to its last split's first line. Throws io_error when one cannot be read.
std::vector<bool> split_quote_states(const std::vector<InputSplit>& splits, char quote);

}  // namespace spate::detail
