// The n largest records, for top and take_ordered: each partition selects its own with
// nth_element over a buffer and sorts them once, and the driver merges those sorted runs. A heap
// per partition cost a logarithmic step for every record kept; with n as large as a partition
// (take_ordered of every row) this is a plain sort of each partition in parallel and a merge.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

namespace spate::detail {

/// The k largest (by lt) of the records that produce(keep) passes to keep(O&&), largest first;
/// among equal records, which are kept is unspecified but the same on every run. Holds at most
/// k + max(k / 2, 4096) records at a time.
template <class O, class Less, class Produce>
std::vector<O> largest_sorted(std::size_t k, Less& lt, Produce&& produce) {
  const auto before = [&lt](const O& a, const O& b) { return lt(b, a); };  // a is larger
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  const std::size_t slack = std::max<std::size_t>(k / 2, 4096);
  const std::size_t limit = k > kMax - slack ? kMax : k + slack;
  std::vector<O> best;
  std::optional<O> cut;  // the largest record dropped so far: nothing that is not larger counts
  const auto trim = [&] {
    std::nth_element(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(k), best.end(),
                     before);
    cut.emplace(std::move(best[k]));
    best.erase(best.begin() + static_cast<std::ptrdiff_t>(k), best.end());
  };
  produce([&](O&& x) {
    if (k == 0 || (cut && !before(x, *cut))) return;
    best.push_back(std::move(x));
    if (best.size() >= limit) trim();
  });
  if (best.size() > k) trim();
  std::sort(best.begin(), best.end(), before);
  return best;
}

/// The n largest records of runs that are each sorted largest first, largest first; equal
/// records keep the order of their runs.
template <class O, class Less>
std::vector<O> merge_largest(std::vector<std::vector<O>> runs, std::size_t n, Less& lt) {
  std::size_t total = 0;
  for (const auto& r : runs) total += r.size();
  std::vector<O> out;
  out.reserve(std::min(n, total));
  std::vector<std::size_t> at(runs.size(), 0);
  // True when run a's next record goes after run b's.
  const auto after = [&](std::size_t a, std::size_t b) {
    const O& x = runs[a][at[a]];
    const O& y = runs[b][at[b]];
    if (lt(x, y)) return true;
    return !lt(y, x) && a > b;
  };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(after)> next(after);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (!runs[r].empty()) next.push(r);
  }
  while (out.size() < n && !next.empty()) {
    const std::size_t r = next.top();
    next.pop();
    out.push_back(std::move(runs[r][at[r]++]));
    if (at[r] < runs[r].size()) next.push(r);
  }
  return out;
}

}  // namespace spate::detail
