// Accumulators: values that tasks add to and the driver reads. An attempt's additions count only
// when the attempt succeeds, so a retried task is counted once.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "spate/detail/engine.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate {

/// Merge policy: acc += v; starts at T{}.
struct Sum {
  template <class T, class V>
  void operator()(T& acc, const V& v) const {
    acc += v;
  }
};

/// Merge policy: keeps the largest value; starts at the lowest value of T.
struct Max {
  template <class T>
  static T zero() {
    return std::numeric_limits<T>::lowest();
  }
  template <class T, class V>
  void operator()(T& acc, const V& v) const {
    if (acc < v) acc = v;
  }
};

/// Merge policy: keeps the smallest value; starts at the largest value of T.
struct Min {
  template <class T>
  static T zero() {
    return std::numeric_limits<T>::max();
  }
  template <class T, class V>
  void operator()(T& acc, const V& v) const {
    if (v < acc) acc = v;
  }
};

namespace detail {

// The starting value: Merge::zero<T>() when the policy has one, else T{}.
template <class T, class Merge>
T accumulator_zero() {
  if constexpr (requires { Merge::template zero<T>(); }) {
    return Merge::template zero<T>();
  } else {
    return T{};
  }
}

// One attempt's additions, merged into the driver's value when the attempt succeeds.
template <class T, class Merge>
class AccumulatorPartialOf final : public AccumulatorPartial {
 public:
  T value = accumulator_zero<T, Merge>();
  void save(Writer& w) const override { serialize_to(w, value); }
};

// The driver's value.
template <class T, class Merge>
class AccumulatorState final : public AccumulatorBase {
 public:
  explicit AccumulatorState(std::string name) : name_(std::move(name)) {}
  void merge_saved(Reader& r) override {
    T part = deserialize_from<T>(r);
    std::lock_guard lock(mutex_);
    Merge{}(value_, part);
  }
  template <class V>
  void add(const V& v) {
    std::lock_guard lock(mutex_);
    Merge{}(value_, v);
  }
  T value() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    value_ = accumulator_zero<T, Merge>();
  }
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  mutable std::mutex mutex_;
  T value_ = accumulator_zero<T, Merge>();
};

}  // namespace detail

/// A handle to an accumulator of a Context (made by Context::accumulator). Capture it by value
/// in functions; it is a small trivially copyable value that travels to executors. `Merge` is a
/// policy such as Sum, Max or Min, or your own: a default-constructible type with
/// `void operator()(T& acc, const V& v) const` for each V that add() takes, and for V = T (to
/// merge the parts of tasks), optionally with `static T zero<T>()`. T must be serializable.
template <class T, class Merge = Sum>
class Accumulator {
 public:
  /// Adds v. Inside a task, to that attempt's part, which the driver merges once the attempt has
  /// succeeded (a failed attempt's additions are dropped); on the driver, at once.
  template <class V>
  void add(const V& v) const {
    if (detail::TaskContext* tc = detail::current_task()) {
      auto& part = tc->template accumulator_partial<detail::AccumulatorPartialOf<T, Merge>>(
          id_, [] { return std::make_unique<detail::AccumulatorPartialOf<T, Merge>>(); });
      Merge{}(part.value, v);
    } else {
      state().add(v);
    }
  }
  /// The additions of every successful task so far, merged. Call it on the driver.
  T value() const { return state().value(); }
  /// Sets the value back to its start. Call it on the driver, between jobs.
  void reset() const { state().reset(); }
  /// The name given at creation.
  const std::string& name() const { return state().name(); }

 private:
  friend class Context;
  Accumulator(std::uint64_t id, detail::Engine* engine) noexcept : id_(id), engine_(engine) {}
  detail::AccumulatorState<T, Merge>& state() const {
    // The engine keeps every accumulator it registered for its lifetime.
    return static_cast<detail::AccumulatorState<T, Merge>&>(*engine_->accumulator(id_));
  }

  std::uint64_t id_;
  detail::Engine* engine_;  // meaningful on the driver only; tasks reach theirs via current_task()
};

}  // namespace spate
