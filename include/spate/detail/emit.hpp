// Emit<T>: a non-owning reference to a record consumer, the one indirect call at a node boundary.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace spate::detail {

/// A cheap, copyable reference to a callable taking `T&&`; the callable must outlive it.
/// Inside a fused pipeline records are passed by inlined calls; Emit is used only where one
/// node hands records to the next, so a record costs one indirect call per node, not per operator.
template <class T>
class Emit {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, Emit>)
  Emit(F& f) noexcept  // NOLINT: implicit on purpose, like std::function_ref
      : object_(std::addressof(f)), call_([](void* o, T&& x) { (*static_cast<F*>(o))(std::move(x)); }) {}

  /// Hands one record to the consumer, which may move from it.
  void operator()(T&& x) const { call_(object_, std::move(x)); }

 private:
  void* object_;
  void (*call_)(void*, T&&);
};

}  // namespace spate::detail
