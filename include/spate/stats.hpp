// Stats: count, mean, variance, minimum and maximum of numbers in one pass, as Spark's StatCounter;
// what Dataset::stats() returns for numeric records.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace spate {

/// Running statistics of a set of numbers (as doubles). Two of them merge exactly as if one had
/// seen both sets (Chan et al.'s pairwise update), so partitions are summarised independently.
class Stats {
 public:
  /// Adds one number.
  void add(double x) noexcept {
    ++n_;
    const double delta = x - mean_;
    mean_ += delta / static_cast<double>(n_);
    m2_ += delta * (x - mean_);
    max_ = std::max(max_, x);
    min_ = std::min(min_, x);
    sum_ += x;
  }
  /// Adds every number another Stats has seen.
  void merge(const Stats& o) noexcept {
    if (o.n_ == 0) return;
    if (n_ == 0) {
      *this = o;
      return;
    }
    const double delta = o.mean_ - mean_;
    const double n = static_cast<double>(n_ + o.n_);
    // The weighted mean of two close means is computed from the larger side, as Spark does,
    // to keep the error small when one side is much bigger.
    if (o.n_ * 10 < n_) {
      mean_ += delta * static_cast<double>(o.n_) / n;
    } else if (n_ * 10 < o.n_) {
      mean_ = o.mean_ - delta * static_cast<double>(n_) / n;
    } else {
      mean_ = (mean_ * static_cast<double>(n_) + o.mean_ * static_cast<double>(o.n_)) / n;
    }
    m2_ += o.m2_ + delta * delta * static_cast<double>(n_) * static_cast<double>(o.n_) / n;
    n_ += o.n_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
    sum_ += o.sum_;
  }

  /// How many numbers were added.
  std::uint64_t count() const noexcept { return n_; }
  /// Their mean; NaN when there are none.
  double mean() const noexcept { return n_ == 0 ? std::numeric_limits<double>::quiet_NaN() : mean_; }
  /// Their sum (0 when there are none).
  double sum() const noexcept { return sum_; }
  /// The largest; -infinity when there are none.
  double max() const noexcept { return max_; }
  /// The smallest; +infinity when there are none.
  double min() const noexcept { return min_; }
  /// Population variance (divides by count); NaN when there are none.
  double variance() const noexcept {
    return n_ == 0 ? std::numeric_limits<double>::quiet_NaN() : m2_ / static_cast<double>(n_);
  }
  /// Sample variance (divides by count - 1); NaN below two numbers.
  double sample_variance() const noexcept {
    return n_ < 2 ? std::numeric_limits<double>::quiet_NaN() : m2_ / static_cast<double>(n_ - 1);
  }
  /// Population standard deviation.
  double stdev() const noexcept { return std::sqrt(variance()); }
  /// Sample standard deviation.
  double sample_stdev() const noexcept { return std::sqrt(sample_variance()); }

  /// Boost.Serialization hook: partitions' summaries travel back to the driver.
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & n_ & mean_ & m2_ & max_ & min_ & sum_;
  }

 private:
  std::uint64_t n_ = 0;
  double mean_ = 0;
  double m2_ = 0;  // sum of squared distances from the mean
  double max_ = -std::numeric_limits<double>::infinity();
  double min_ = std::numeric_limits<double>::infinity();
  double sum_ = 0;
};

}  // namespace spate
