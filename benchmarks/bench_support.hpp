// What the benchmark programs share: their usage error, whole-number flag values, and medians.
// Header-only; each benchmark is one program.
#pragma once

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spate_bench {

/// A command line the program cannot run with; main() prints it with spate::usage_hint, exit 2.
struct UsageError {
  std::string message;
};

/// The whole number `text` given to `flag`; throws UsageError unless it is one of at least `min`.
inline std::uint64_t whole_number(std::string_view flag, std::string_view text, std::uint64_t min = 1) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < min)
    throw UsageError{fmt::format("{} needs a whole number of {} or more, not '{}'", flag, min, text)};
  return v;
}

/// The median of `v` (the mean of the middle two for an even count); `v` must not be empty.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace spate_bench
