// The key arena of StringKeyTable (include/spate/detail/string_key_table.hpp).
#include "spate/detail/string_key_table.hpp"

#include <algorithm>

namespace spate::detail {

void KeyArena::grow(std::size_t at_least) {
  // 1 MiB blocks: few allocations, and a block's tail left unused when a key does not fit costs
  // little. A key larger than a block gets one of its own.
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  const std::size_t size = std::max(kBlock, at_least);
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
  next_ = blocks_.back().get();
  left_ = size;
  held_ += size;
}

}  // namespace spate::detail
