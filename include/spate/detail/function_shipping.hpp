// How a user's function object crosses processes (DESIGN.md, "Shipping code to executors"):
// write_function() turns it into bytes, read_function() rebuilds it as a callable ShippedFunction.
//
// Executors run the same binary as the driver, so only a function's data travels, by one of:
//   bytes         a trivially copyable function object (a lambda capturing values, std::plus<>):
//                 varint sizeof(F), then its object bytes, checked against sizeof(F) on read.
//   serialize     a function object with Boost.Serialization's serialize(): Serializer<F>.
//   code address  a plain function pointer: the loaded module's path and the offset within it,
//                 because address-space randomisation loads the binary at a different address in
//                 every process. (A byte flag first: 0 null, 1 an address.)
// A function object that captures a pointer or a reference is still trivially copyable, so it
// ships as bytes and then points at nothing in the executor; no compile-time check can tell.
// The docs say plainly that such captures work in local mode only. A lambda that captures a
// plain function pointer has the same problem; pass the function itself instead.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include <link.h>  // dl_iterate_phdr: where each loaded module sits in this process

#include "spate/error.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// True when an F can be rebuilt by copying its bytes: a trivial copy constructor and
/// destructor are what memcpy-construction needs. (std::is_trivially_copyable also asks about
/// assignment, and g++ 12 answers it wrongly, false, for a capturing closure when the question
/// is asked from a function template instantiated at the end of the translation unit.)
template <class F>
inline constexpr bool bitwise_copyable_v =
    std::is_trivially_copy_constructible_v<F> && std::is_trivially_destructible_v<F>;

/// How write_function() sends a function object of type F.
enum class ShipMethod { bytes, serialize, code_address, none };

// A serialize() member wins when F has one (the user asked for it); then function pointers; then
// the bytes of a trivially copyable class (a closure) or data member pointer (an offset, the same
// in every process); a free serialize() found by ADL only after that: whether ADL finds one for
// a closure depends on which Boost headers the translation unit has seen by then, and g++ 12
// memoises the answer, so it must not decide how closures travel. A reference_wrapper is
// trivially copyable but holds an address: none.
template <class F>
constexpr ShipMethod choose_ship_method() {
  if constexpr (std::is_class_v<F> && !std::is_const_v<F> &&
                (has_member_serialize<F> || use_boost_serialization<F>)) {
    return ShipMethod::serialize;
  } else if constexpr (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) {
    return ShipMethod::code_address;
  } else if constexpr (bitwise_copyable_v<F> &&
                       (std::is_class_v<F> || std::is_member_object_pointer_v<F>) &&
                       !is_specialization_of_v<F, std::reference_wrapper>) {
    return ShipMethod::bytes;
  } else if constexpr (uses_boost_v<F>) {
    return ShipMethod::serialize;
  } else {
    return ShipMethod::none;
  }
}

/// How write_function() sends an F.
template <class F>
inline constexpr ShipMethod ship_method_v = choose_ship_method<F>();

/// True when write_function() accepts F.
template <class F>
inline constexpr bool is_shippable_v = ship_method_v<F> != ShipMethod::none;

// Where a code address lies: the loaded module (its path as the loader names it, "" for the
// main executable) and the offset from the module's load address.
struct CodeLocation {
  std::string module;
  std::uintptr_t offset = 0;
};

// Finds the module whose executable segment holds `address`; throws if none does.
inline CodeLocation locate_code(std::uintptr_t address) {
  struct Search {
    std::uintptr_t address;
    CodeLocation found;
    bool ok = false;
  } search{address, {}, false};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& s = *static_cast<Search*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 && s.address >= start &&
              s.address - start < ph.p_memsz) {
            s.found = {info->dlpi_name != nullptr ? info->dlpi_name : "",
                       s.address - info->dlpi_addr};
            s.ok = true;
            return 1;
          }
        }
        return 0;
      },
      &search);
  if (!search.ok) {
    throw serialization_error("spate: cannot ship a function pointer that points into no loaded "
                              "module's code");
  }
  return search.found;
}

// The address of `where` in this process; throws if that module is not loaded here or the
// offset is not in its code (the executor is a different build, or the bytes are corrupt).
inline std::uintptr_t resolve_code(const CodeLocation& where) {
  struct Search {
    const CodeLocation* where;
    std::uintptr_t address = 0;
    bool module_found = false;
  } search{&where};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& s = *static_cast<Search*>(data);
        if (s.where->module != (info->dlpi_name != nullptr ? info->dlpi_name : "")) return 0;
        s.module_found = true;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 &&
              s.where->offset >= ph.p_vaddr && s.where->offset - ph.p_vaddr < ph.p_memsz) {
            s.address = info->dlpi_addr + s.where->offset;
            return 1;
          }
        }
        return 1;
      },
      &search);
  const std::string name = where.module.empty() ? "the main executable" : where.module;
  if (!search.module_found) {
    throw serialization_error("spate: a shipped function lives in " + name +
                              ", which this process has not loaded");
  }
  if (search.address == 0) {
    throw serialization_error("spate: a shipped function's offset " +
                              std::to_string(where.offset) + " is not in the code of " + name);
  }
  return search.address;
}

/// Appends f in the form its ShipMethod says; a function object spate cannot ship is a compile
/// error that says what to change. F is the decayed type the caller stores (a function is
/// shipped as a function pointer).
template <class F>
void write_function(Writer& w, const F& f) {
  static_assert(!std::is_function_v<F>,
                "write_function takes the stored, decayed type: pass &f (std::decay_t<F>)");
  static_assert(!std::is_member_function_pointer_v<F>,
                "spate cannot ship a member function pointer to executors (its code address "
                "differs between processes): pass a lambda that calls the member function");
  static_assert(is_shippable_v<F>,
                "spate cannot ship this function object to executors: capture values (not "
                "references or pointers to data) so that it is trivially copyable, give the "
                "function object a `template <class Archive> void serialize(Archive&, unsigned)` "
                "member, or put large state in ctx.broadcast(v) and capture the handle. (A lambda "
                "that captures a std::string, std::vector or std::function by value is not "
                "trivially copyable.)");
  if constexpr (ship_method_v<F> == ShipMethod::bytes) {
    w.write_varint(sizeof(F));
    if constexpr (std::has_unique_object_representations_v<F>) {
      w.write_bytes(std::addressof(f), sizeof(F));
    } else {
      // Padding bytes would carry whatever this process's memory held there onto the wire.
      alignas(F) unsigned char copy[sizeof(F)];
      std::memcpy(copy, std::addressof(f), sizeof(F));
#if defined(__has_builtin)
#if __has_builtin(__builtin_clear_padding)
      if constexpr (std::is_trivially_copyable_v<F>) __builtin_clear_padding(reinterpret_cast<F*>(copy));
#endif
#endif
      w.write_bytes(copy, sizeof(F));
    }
  } else if constexpr (ship_method_v<F> == ShipMethod::serialize) {
    Serializer<F>::write(w, f);
  } else if constexpr (ship_method_v<F> == ShipMethod::code_address) {
    Serializer<bool>::write(w, f != nullptr);
    if (f != nullptr) {
      const CodeLocation where = locate_code(std::bit_cast<std::uintptr_t>(f));
      Serializer<std::string>::write(w, where.module);
      w.write_varint(where.offset);
    }
  }
}

template <class F>
class ShippedFunction;

template <class F>
ShippedFunction<F> read_function(Reader& r);

/// Owns a function object of type F rebuilt from the bytes write_function() wrote (or copied
/// from an F, for local mode), and calls it. F is never default-constructed (closure types have
/// no default constructor) except to load a serialize() type, which Boost requires anyway.
/// Copyable and movable when F is; not assignable (closure types are not).
template <class F>
class ShippedFunction {
 public:
  /// Holds a copy of f: what a local-mode task uses, skipping the bytes.
  explicit ShippedFunction(const F& f) { ::new (static_cast<void*>(storage_)) F(f); }

  ShippedFunction(const ShippedFunction& other) {
    ::new (static_cast<void*>(storage_)) F(other.get());
  }
  ShippedFunction(ShippedFunction&& other) noexcept(std::is_nothrow_move_constructible_v<F>) {
    ::new (static_cast<void*>(storage_)) F(std::move(other.get()));
  }
  ShippedFunction& operator=(const ShippedFunction&) = delete;
  ShippedFunction& operator=(ShippedFunction&&) = delete;
  ~ShippedFunction() { get().~F(); }

  /// The function object.
  F& get() noexcept { return *std::launder(reinterpret_cast<F*>(storage_)); }
  const F& get() const noexcept { return *std::launder(reinterpret_cast<const F*>(storage_)); }

  /// Calls the function object (non-const, so `mutable` lambdas work too).
  template <class... Args>
    requires std::is_invocable_v<F&, Args...>
  decltype(auto) operator()(Args&&... args) {
    return std::invoke(get(), std::forward<Args>(args)...);
  }
  /// Calls the function object through a const reference.
  template <class... Args>
    requires std::is_invocable_v<const F&, Args...>
  decltype(auto) operator()(Args&&... args) const {
    return std::invoke(get(), std::forward<Args>(args)...);
  }

 private:
  struct FromBytes {};
  friend ShippedFunction read_function<F>(Reader& r);

  ShippedFunction(FromBytes, Reader& r) {
    static_assert(is_shippable_v<F>, "read_function: see write_function for shippable types");
    if constexpr (ship_method_v<F> == ShipMethod::bytes) {
      const std::size_t at = r.offset();
      const std::uint64_t n = r.read_varint();
      if (n != sizeof(F)) {
        throw serialization_error("spate: a shipped function object of " + std::to_string(n) +
                                  " bytes at offset " + std::to_string(at) +
                                  " where this build's type has " + std::to_string(sizeof(F)) +
                                  " (is the executor a different build?)");
      }
      // F is trivially copyable, so copying its bytes into storage_ creates the F (C++20's
      // implicit object creation), with no constructor run.
      r.read_bytes(storage_, sizeof(F));
    } else if constexpr (ship_method_v<F> == ShipMethod::serialize) {
      static_assert(std::is_default_constructible_v<F>,
                    "spate loads a function object with serialize() through Boost, into a "
                    "default-constructed object: give it a default constructor");
      F* f = ::new (static_cast<void*>(storage_)) F();
      try {
        Serializer<F>::read_into(r, *f);
      } catch (...) {
        f->~F();
        throw;
      }
    } else if constexpr (ship_method_v<F> == ShipMethod::code_address) {
      F f = nullptr;
      if (Serializer<bool>::read(r)) {
        CodeLocation where;
        where.module = Serializer<std::string>::read(r);
        where.offset = r.read_varint();
        f = std::bit_cast<F>(resolve_code(where));
      }
      ::new (static_cast<void*>(storage_)) F(f);
    }
  }

  alignas(F) std::byte storage_[sizeof(F)];
};

/// Rebuilds the function object that write_function<F> wrote; throws serialization_error on
/// truncated or mismatched bytes.
template <class F>
ShippedFunction<F> read_function(Reader& r) {
  return ShippedFunction<F>(typename ShippedFunction<F>::FromBytes{}, r);
}

}  // namespace spate::detail
