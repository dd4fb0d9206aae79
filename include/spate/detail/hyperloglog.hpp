// HyperLogLog: a fixed-size summary of a set of 64-bit hashes that estimates how many distinct
// ones it has seen, for count_approx_distinct. Registers merge by maximum, so partitions are
// summarised independently; the estimate is Ertl's improved estimator ("New cardinality
// estimation algorithms for HyperLogLog sketches", 2017), accurate from zero to huge counts
// without the empirical bias tables of HyperLogLog++.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace spate::detail {

class HyperLogLog {
 public:
  /// The precision (log2 of the register count) whose relative standard deviation, about
  /// 1.04 / sqrt(2^p), is at most relative_sd, as Spark picks it; throws config_error unless
  /// relative_sd is at least 0.000017 (p = 24 at most, a 16 MB summary).
  static int precision_for(double relative_sd);

  /// An empty summary with 2^precision registers (4 <= precision <= 24).
  explicit HyperLogLog(int precision = 14);

  /// Adds one hash (a well-mixed 64-bit value, as stable_hash gives).
  void add(std::uint64_t hash) noexcept {
    const std::uint64_t index = hash >> (64 - precision_);
    // The rank of the remaining bits: leading zeros + 1, at most 65 - precision.
    const std::uint64_t rest = (hash << precision_) | (std::uint64_t{1} << (precision_ - 1));
    const auto rank = static_cast<std::uint8_t>(std::countl_zero(rest) + 1);
    if (rank > registers_[index]) registers_[index] = rank;
  }
  /// Makes this the summary of both sets; throws config_error when the precisions differ.
  void merge(const HyperLogLog& other);
  /// The estimated number of distinct hashes added.
  std::uint64_t estimate() const;

  int precision() const noexcept { return precision_; }

  /// Boost.Serialization hook: summaries travel between processes.
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & precision_ & registers_;
  }

 private:
  int precision_;
  std::vector<std::uint8_t> registers_;
};

}  // namespace spate::detail
