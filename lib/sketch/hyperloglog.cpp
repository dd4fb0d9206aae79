// HyperLogLog's estimate and merge (see hyperloglog.hpp).
#include "spate/detail/hyperloglog.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "spate/error.hpp"

namespace spate::detail {
namespace {

constexpr int kMinPrecision = 4;
constexpr int kMaxPrecision = 24;

// sigma and tau of Ertl's paper: the corrections for registers at zero and at the maximum.
double sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    const double before = z;
    z += x * y;
    y += y;
    if (z == before) return z;
  }
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double before = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == before) return z / 3.0;
  }
}

}  // namespace

int HyperLogLog::precision_for(double relative_sd) {
  if (!(relative_sd >= 0.000017)) {
    throw config_error("count_approx_distinct: relative_sd must be at least 0.000017, not " +
                       std::to_string(relative_sd));
  }
  const int p = static_cast<int>(std::ceil(2.0 * std::log2(1.054 / relative_sd)));
  return std::clamp(p, kMinPrecision, kMaxPrecision);
}

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)),
      registers_(std::size_t{1} << precision_, 0) {}

void HyperLogLog::merge(const HyperLogLog& other) {
  if (other.precision_ != precision_ || other.registers_.size() != registers_.size()) {
    throw config_error("HyperLogLog: cannot merge summaries of precision " +
                       std::to_string(precision_) + " and " + std::to_string(other.precision_));
  }
  for (std::size_t i = 0; i < registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

std::uint64_t HyperLogLog::estimate() const {
  const int q = 64 - precision_;  // a register holds 0..q+1
  std::vector<double> counts(static_cast<std::size_t>(q) + 2, 0.0);
  for (std::uint8_t r : registers_) counts[std::min<std::size_t>(r, counts.size() - 1)] += 1;
  const double m = static_cast<double>(registers_.size());
  double z = m * tau(1.0 - counts[static_cast<std::size_t>(q) + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + counts[static_cast<std::size_t>(k)]);
  z += m * sigma(counts[0] / m);
  const double alpha = 0.5 / std::log(2.0);
  return static_cast<std::uint64_t>(std::llround(alpha * m * m / z));
}

}  // namespace spate::detail
