// Broadcast values: read-only data that every task may read, shipped to each executor once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "spate/detail/engine.hpp"
#include "spate/detail/task_context.hpp"
#include "spate/serialization.hpp"

namespace spate {

/// A handle to a value broadcast by Context::broadcast. Capture it by value in functions; it is a
/// small trivially copyable value that travels to executors, where value() fetches the value
/// from the driver on first use and keeps it for the executor's life.
template <class T>
class Broadcast {
 public:
  /// The value; valid while the Context lives and until destroy(). In a task, the first call
  /// looks the value up (an executor fetches it from the driver once) and later calls of the
  /// same task read a pointer the task keeps: reading it per record costs next to nothing.
  /// Throws spate::error when the value cannot be had (an executor cannot fetch it, or it was
  /// destroyed).
  const T& value() const {
    detail::TaskContext* tc = detail::current_task();
    if (tc && tc->broadcasts()) return *static_cast<const T*>(tc->broadcast(id_, &decode));
    return *static_cast<const T*>(engine_->broadcasts().broadcast_value(id_, &decode).get());
  }
  /// Frees the value in the driver and in every executor; tasks running now keep theirs until
  /// they end, later reads throw spate::error. Call it on the driver; a second call does nothing.
  void destroy() const { engine_->destroy_broadcast(id_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }

 private:
  friend class Context;
  Broadcast(std::uint64_t id, detail::Engine* engine) noexcept : id_(id), engine_(engine) {}
  static std::shared_ptr<const void> decode(std::string_view bytes) {
    Reader in(bytes);
    auto value = std::make_shared<const T>(deserialize_from<T>(in));
    if (!in.at_end()) throw serialization_error("broadcast value has trailing bytes");
    return value;
  }

  std::uint64_t id_;
  detail::Engine* engine_;  // meaningful on the driver only; tasks reach theirs via current_task()
};

}  // namespace spate
