// NodeBase's out-of-line part: what does not depend on a node's record type.
#include <fmt/format.h>

#include "spate/detail/node.hpp"
#include "spate/error.hpp"

namespace spate::detail {

void NodeBase::throw_no_such_partition(std::size_t p) const {
  throw error(fmt::format("partition {} of node {} ({}) does not exist: it has {} partition{}", p,
                          id(), name(), num_partitions(), num_partitions() == 1 ? "" : "s"));
}

}  // namespace spate::detail
