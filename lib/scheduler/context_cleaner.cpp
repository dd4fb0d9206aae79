// ContextCleaner. Sweeps happen when jobs start and end, which is when a program lets go of the
// datasets of its last job; between jobs nothing is computed, so nothing is freed too late.
#include "scheduler/context_cleaner.hpp"

#include <algorithm>

#include "scheduler/backend.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/shuffle_dependency.hpp"

namespace spate::detail {

void ContextCleaner::track(const std::shared_ptr<ShuffleDependencyBase>& shuffle) {
  std::lock_guard lock(mutex_);
  shuffles_.try_emplace(shuffle->shuffle_id(), shuffle);
}

void ContextCleaner::track(const std::shared_ptr<NodeBase>& cached) {
  std::lock_guard lock(mutex_);
  cached_.try_emplace(cached->id(), cached);
}

std::vector<int> ContextCleaner::sweep() {
  std::vector<int> gone_shuffles;
  std::vector<std::uint64_t> gone_nodes;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(shuffles_, [&](const auto& s) {
      if (!s.second.expired()) return false;
      gone_shuffles.push_back(s.first);
      return true;
    });
    std::erase_if(cached_, [&](const auto& c) {
      if (!c.second.expired()) return false;
      gone_nodes.push_back(c.first);
      return true;
    });
  }
  for (int s : gone_shuffles) backend_.remove_shuffle(s);
  for (auto n : gone_nodes) backend_.drop_cached(n);
  return gone_shuffles;
}

std::pair<std::size_t, std::size_t> ContextCleaner::tracked() const {
  std::lock_guard lock(mutex_);
  return {shuffles_.size(), cached_.size()};
}

}  // namespace spate::detail
