// NestingGuard: one level of a recursive decoder's depth, so that hostile input nesting deeper
// than a limit is refused instead of overflowing the stack.
#pragma once

#include <cstddef>

namespace spate::detail {

/// Counts one level in `depth` for as long as it lives; when `depth` has reached `limit`
/// already, calls `refuse` (which throws) instead.
class NestingGuard {
 public:
  NestingGuard(std::size_t& depth, std::size_t limit, void (*refuse)()) : depth_(depth) {
    if (depth_ >= limit) refuse();  // throws: the depth is left as it was
    ++depth_;
  }
  NestingGuard(const NestingGuard&) = delete;
  NestingGuard& operator=(const NestingGuard&) = delete;
  ~NestingGuard() { --depth_; }

 private:
  std::size_t& depth_;
};

}  // namespace spate::detail
