// Bucket bounds and bucket lookup for Dataset::histogram (declared in dataset_summaries.hpp).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "spate/dataset.hpp"
#include "spate/detail/dataset_summaries.hpp"

namespace spate::detail {

std::optional<std::size_t> histogram_bucket(const std::vector<double>& bounds, double x) noexcept {
  if (bounds.size() < 2 || std::isnan(x) || x < bounds.front() || x > bounds.back()) {
    return std::nullopt;
  }
  const std::size_t buckets = bounds.size() - 1;
  if (x == bounds.back()) return buckets - 1;  // the last bucket is closed
  const auto above = std::upper_bound(bounds.begin(), bounds.end(), x);
  return static_cast<std::size_t>(above - bounds.begin()) - 1;
}

void check_histogram_bounds(const std::vector<double>& bounds) {
  if (bounds.size() < 2) {
    throw config_error("histogram: give at least two bounds (one bucket), not " +
                       std::to_string(bounds.size()));
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) throw config_error("histogram: bound " + std::to_string(i) + " is NaN");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw config_error("histogram: bounds must be strictly increasing, but bound " +
                         std::to_string(i) + " (" + std::to_string(bounds[i]) + ") follows " +
                         std::to_string(bounds[i - 1]));
    }
  }
}

std::vector<double> even_histogram_bounds(double min, double max, std::size_t bucket_count) {
  if (min == max) return {min, min};
  std::vector<double> bounds;
  bounds.reserve(bucket_count + 1);
  const double span = max - min;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    bounds.push_back(min + static_cast<double>(i) * span / static_cast<double>(bucket_count));
  }
  bounds.push_back(max);
  return bounds;
}

}  // namespace spate::detail
