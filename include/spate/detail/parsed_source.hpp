// What the typed file readers (CSV, JSON lines) share between their compiled scanners and the
// templates that fill user structs: how a row's conversion reports a bad field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace spate::detail {

/// The outcome of filling one row: ok, or the bound field (its index among the bindings) that
/// could not be read and why (a static string).
struct RowProblem {
  static constexpr std::size_t kNoField = static_cast<std::size_t>(-1);
  const char* what = nullptr;
  std::size_t field = kNoField;

  explicit operator bool() const noexcept { return what != nullptr; }
};

/// How a scan treats malformed records: skip and count them in the counter, or fail the task
/// with an input_error naming file, line, field and reason.
struct BadRecordPolicy {
  bool strict = false;
  std::string counter;
};

}  // namespace spate::detail
