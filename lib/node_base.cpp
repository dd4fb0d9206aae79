// NodeBase's out-of-line part: what does not depend on a node's record type.
#include <fmt/format.h>

#include <memory>
#include <vector>

#include "spate/detail/node.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {
// Parents handed over by destructors running inside the outermost one on this thread.
thread_local std::vector<std::shared_ptr<NodeBase>>* tl_releasing = nullptr;
}  // namespace

// A subclass's own pointers to its parents are gone by now (members die before the base), so the
// ones in narrow_parents_ are the last this node holds: the outermost destructor on a thread
// drops them one at a time in a loop, and the destructors that causes queue theirs to it.
NodeBase::~NodeBase() {
  if (tl_releasing) {
    for (auto& p : narrow_parents_) tl_releasing->push_back(std::move(p));
    return;
  }
  std::vector<std::shared_ptr<NodeBase>> queue;
  for (auto& p : narrow_parents_) queue.push_back(std::move(p));
  tl_releasing = &queue;
  while (!queue.empty()) {
    auto last = std::move(queue.back());
    queue.pop_back();
    last.reset();
  }
  tl_releasing = nullptr;
}

void NodeBase::throw_no_such_partition(std::size_t p) const {
  throw error(fmt::format("partition {} of node {} ({}) does not exist: it has {} partition{}", p,
                          id(), name(), num_partitions(), num_partitions() == 1 ? "" : "s"));
}

}  // namespace spate::detail
