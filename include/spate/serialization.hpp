// Record serialisation: the byte Writer and Reader, and the Serializer<T> trait that encodes
// records for shuffle blocks, cached partitions, task state and results sent between processes.
//
// Wire format (one process's bytes are read by another process of the same binary):
//   arithmetic, enum    raw bytes, little-endian (sizeof(T) bytes; fixed size)
//   bool                one byte, 0 or 1 (anything else is rejected on read)
//   std::string         varint length, then the bytes; std::string_view writes the same bytes
//   pair, tuple, array  the elements in order, nothing else (fixed size when the elements are)
//   vector, set, map    varint element count, then the elements (keys before values)
//   optional            one byte (0 empty, 1 engaged), then the value when engaged
//   other types         a varint length, then a Boost.Serialization binary archive (no header)
// Varints are LEB128: seven bits a byte, least significant group first, at most ten bytes.
//
// Reading is safe on hostile or truncated bytes: every read checks what remains first and throws
// spate::serialization_error; a declared length or count is checked against the bytes that remain
// before anything is allocated for it, inside a Boost archive too (see bounded_iarchive.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/core/demangle.hpp>
// The members user types most often have; a type with other std members includes their
// boost/serialization headers itself.
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "spate/detail/bounded_iarchive.hpp"
#include "spate/error.hpp"

namespace spate {

static_assert(std::endian::native == std::endian::little,
              "spate's wire format is little-endian raw bytes; big-endian hosts are not supported");

namespace detail {

template <class T>
inline constexpr bool always_false_v = false;

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_short_read(std::size_t need,
                                                                    std::size_t offset,
                                                                    std::size_t remain) {
  throw serialization_error("spate: need " + std::to_string(need) + " bytes at offset " +
                            std::to_string(offset) + ", only " + std::to_string(remain) +
                            " remain");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_bad_count(std::uint64_t count,
                                                                   std::size_t min_each,
                                                                   std::size_t offset,
                                                                   std::size_t remain) {
  throw serialization_error("spate: a count of " + std::to_string(count) +
                            " elements of at least " + std::to_string(min_each) +
                            " bytes each at offset " + std::to_string(offset) + " exceeds the " +
                            std::to_string(remain) + " bytes that remain");
}

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_corrupt(const char* what,
                                                                 std::size_t offset) {
  throw serialization_error(std::string("spate: ") + what + " at offset " +
                            std::to_string(offset));
}

}  // namespace detail

/// Appends encoded bytes to a growable buffer it owns. Not thread-safe; cheap to move.
class Writer {
 public:
  Writer() = default;
  /// Continues after the bytes already in `initial` (e.g. a block being filled).
  explicit Writer(std::string initial) : buf_(std::move(initial)), size_(buf_.size()) {}

  /// Appends n bytes from data.
  void write_bytes(const void* data, std::size_t n) {
    if (n == 0) return;  // data may be null for an empty vector
    std::memcpy(extend(n), data, n);
  }

  /// Appends v as a LEB128 varint (1 to 10 bytes; values below 128 take one byte).
  void write_varint(std::uint64_t v) {
    char* out = extend_up_to(kMaxVarintBytes);
    std::size_t n = 0;
    while (v >= 0x80) {
      out[n++] = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
      v >>= 7;
    }
    out[n++] = static_cast<char>(v);
    size_ += n;
  }

  /// Number of bytes written so far (including any `initial` bytes).
  std::size_t size() const noexcept { return size_; }
  /// Bytes the buffer holds, used or not.
  std::size_t capacity() const noexcept { return buf_.size(); }
  /// The bytes written so far; invalidated by the next write.
  std::string_view view() const noexcept { return {buf_.data(), size_}; }
  /// Makes room for n more bytes without reallocating on the way.
  void reserve(std::size_t n) {
    if (n > buf_.size() - size_) grow(n);
  }
  /// Forgets the bytes written, keeping the buffer's capacity.
  void clear() noexcept { size_ = 0; }
  /// Moves the bytes out; the Writer is empty afterwards.
  std::string take() && {
    buf_.resize(size_);
    size_ = 0;
    return std::move(buf_);
  }

  static constexpr std::size_t kMaxVarintBytes = 10;

 private:
  // buf_.size() is the capacity; only the first size_ bytes are data. Keeping the slack inside
  // the string (rather than appending) lets a write be one bounds check and a memcpy.
  char* extend(std::size_t n) {
    if (n > buf_.size() - size_) [[unlikely]] grow(n);
    char* out = buf_.data() + size_;
    size_ += n;
    return out;
  }
  // Room for up to n bytes at the end; the caller advances size_ by what it used.
  char* extend_up_to(std::size_t n) {
    if (n > buf_.size() - size_) [[unlikely]] grow(n);
    return buf_.data() + size_;
  }
  [[gnu::noinline]] void grow(std::size_t n) {
    buf_.resize(std::max({buf_.size() * 2, size_ + n, std::size_t{64}}));
  }

  std::string buf_;
  std::size_t size_ = 0;
};

/// Reads encoded bytes from a view it does not own (the bytes must outlive the Reader).
/// Every read checks the remaining length first and throws serialization_error when short; a
/// failed primitive read consumes nothing, but after a failed record the position is unspecified.
/// Not thread-safe.
class Reader {
 public:
  explicit Reader(std::string_view bytes) noexcept
      : begin_(bytes.data()), pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  /// Copies the next n bytes into out.
  void read_bytes(void* out, std::size_t n) {
    if (n == 0) return;  // out may be null for an empty vector
    std::memcpy(out, take(n), n);
  }

  /// The next n bytes as a view into the Reader's buffer (no copy).
  std::string_view read_view(std::size_t n) { return {take(n), n}; }

  /// Reads a LEB128 varint; throws on truncation or on more than 64 bits of value.
  std::uint64_t read_varint() {
    const auto* p = reinterpret_cast<const std::uint8_t*>(pos_);
    const std::size_t avail = remaining();
    // Fast path: the first byte alone (small lengths and counts are the common case).
    if (avail > 0 && p[0] < 0x80) [[likely]] {
      ++pos_;
      return p[0];
    }
    std::uint64_t v = 0;
    const std::size_t limit = std::min(avail, Writer::kMaxVarintBytes);
    for (std::size_t i = 0; i < limit; ++i) {
      const std::uint64_t byte = p[i];
      v |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) {
        // The tenth byte holds only bit 63; anything more is not a 64-bit value.
        if (i == Writer::kMaxVarintBytes - 1 && byte > 1) {
          detail::throw_corrupt("varint overflows 64 bits", offset());
        }
        pos_ += i + 1;
        return v;
      }
    }
    if (limit == Writer::kMaxVarintBytes) {
      detail::throw_corrupt("varint longer than 10 bytes", offset());
    }
    detail::throw_short_read(avail + 1, offset(), avail);
  }

  /// Reads a varint element count and checks that that many elements of at least
  /// `min_bytes_each` (> 0) bytes each fit in what remains, so the caller may allocate for them.
  std::size_t read_count(std::size_t min_bytes_each) {
    const std::size_t at = offset();
    const std::uint64_t count = read_varint();
    if (count > remaining() / min_bytes_each) [[unlikely]] {
      detail::throw_bad_count(count, min_bytes_each, at, remaining());
    }
    return static_cast<std::size_t>(count);
  }

  /// Bytes not yet read.
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
  /// Bytes read so far: the offset of the next read, for error messages.
  std::size_t offset() const noexcept { return static_cast<std::size_t>(pos_ - begin_); }
  /// True when every byte has been read.
  bool at_end() const noexcept { return pos_ == end_; }

 private:
  const char* take(std::size_t n) {
    if (n > remaining()) [[unlikely]] detail::throw_short_read(n, offset(), remaining());
    const char* at = pos_;
    pos_ += n;
    return at;
  }

  const char* begin_;
  const char* pos_;
  const char* end_;
};

/// How records of type T are encoded. spate provides the specialisations below; a type it does
/// not cover goes through Boost.Serialization when it has `serialize()` (see further down).
///
/// A specialisation provides:
///   static void write(Writer&, const T&);
///   static R read(Reader&);           R is T, except that views read back in owning form
///                                     (std::string_view gives std::string; see deserialized_t)
///   static constexpr bool fixed_size; true when every value encodes to exactly `size` bytes,
///   static constexpr std::size_t size;   so a block of them can be sized and sliced up front
///   static constexpr std::size_t min_size;  fewest bytes any value encodes to (> 0 for an
///                                     element type of a container: it bounds declared counts)
/// Reading returns the value rather than filling an out-parameter, so element types need not be
/// default-constructible (only Boost-serialised user types must be).
///
// The text of every "cannot serialise" diagnostic (a static_assert takes only a literal).
#define SPATE_DETAIL_NOT_SERIALIZABLE                                                              \
  "spate cannot serialise this record type (the type named `T = ...` above): records that cross " \
  "processes (shuffles, cache, collect and the other actions, broadcasts, accumulators) must be " \
  "arithmetic types, enums, bool, std::string, std::string_view, or std::pair, std::tuple, "      \
  "std::array, std::vector, std::optional, std::map, std::unordered_map, std::set or "            \
  "std::unordered_set of such types. For a type of your own, add a member "                      \
  "`template <class Ar> void serialize(Ar& ar, unsigned) { ar & field1 & field2; }` (or the "     \
  "Boost.Serialization free function `template <class Ar> void serialize(Ar&, T&, unsigned)` "   \
  "next to T), or specialise spate::Serializer<T> (spate/serialization.hpp)"

/// This primary template is reached only when nothing else covers T; using it fails to compile,
/// and the compiler's "required from Serializer<X>" line names the type X that has no encoding.
template <class T, class Enable = void>
struct Serializer {
  static constexpr bool supported = false;
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer&, const T&) {
    static_assert(detail::always_false_v<T>, SPATE_DETAIL_NOT_SERIALIZABLE);
  }
  static T read(Reader&) {
    static_assert(detail::always_false_v<T>, SPATE_DETAIL_NOT_SERIALIZABLE);
  }
};

namespace detail {

// Serializer of T ignoring cv-qualifiers (pair<const K, V> is a map's element).
template <class T>
using serializer_of = Serializer<std::remove_cv_t<T>>;

// `supported` is optional in a user's specialisation and defaults to true.
template <class S>
constexpr bool serializer_supported() {
  if constexpr (requires { S::supported; }) {
    return S::supported;
  } else {
    return true;
  }
}

}  // namespace detail

/// True when values of T (and everything inside them) can be written and read.
template <class T>
inline constexpr bool is_serializable_v = detail::serializer_supported<detail::serializer_of<T>>();

namespace detail {
/// Compiles only when records of type T can be serialised; operators call it first, so that the
/// compiler's "required from here" points at the user's call.
template <class T>
constexpr void require_serializable() {
  static_assert(is_serializable_v<T>, SPATE_DETAIL_NOT_SERIALIZABLE);
}
}  // namespace detail

/// The type Serializer<T>::read returns: T itself, except that std::string_view (also inside
/// pairs, tuples, containers) reads back as std::string, since the bytes it viewed are gone.
template <class T>
using deserialized_t = decltype(detail::serializer_of<T>::read(std::declval<Reader&>()));

namespace detail {

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_of_v = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_of_v<Template<Args...>, Template> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

// Types whose encoding is exactly their object representation, so that a run of them is one
// memcpy: arithmetic types except bool (whose bytes must be checked), enums, and arrays of these.
template <class T>
inline constexpr bool is_raw_encoded_v =
    (std::is_arithmetic_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>) || std::is_enum_v<T>;
template <class T, std::size_t N>
inline constexpr bool is_raw_encoded_v<std::array<T, N>> = is_raw_encoded_v<T>;

// The std templates spate encodes itself; a Boost serialize() found for them is ignored.
template <class T>
inline constexpr bool has_fast_path_v =
    is_specialization_of_v<T, std::pair> || is_specialization_of_v<T, std::tuple> ||
    is_std_array_v<T> || is_specialization_of_v<T, std::vector> ||
    is_specialization_of_v<T, std::optional> || is_specialization_of_v<T, std::map> ||
    is_specialization_of_v<T, std::unordered_map> || is_specialization_of_v<T, std::set> ||
    is_specialization_of_v<T, std::unordered_set> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::string_view>;

template <class T>
inline constexpr std::size_t min_size_of_v = serializer_of<T>::min_size;

// Containers bound a declared count by remaining / min_size; an element that can encode to zero
// bytes would leave the count unbounded, so such containers are refused at compile time.
template <class T>
constexpr void check_container_element() {
  static_assert(!is_serializable_v<T> || min_size_of_v<T> > 0,
                "spate cannot serialise a container of zero-byte elements (std::tuple<>, "
                "std::array<T, 0>): a corrupt element count could not be bounded");
}

// At most this many bytes are reserved up front for a container whose elements are not raw
// (a string's declared count can promise 1 byte per element that decodes to 32); beyond it the
// container grows as elements actually decode, so corrupt counts cannot force big allocations.
inline constexpr std::size_t kMaxUpfrontReserveBytes = std::size_t{1} << 20;

template <class T>
std::size_t upfront_reserve(std::size_t count) {
  return std::min(count, kMaxUpfrontReserveBytes / sizeof(T) + 1);
}

}  // namespace detail

/// Arithmetic types and enums: their raw little-endian bytes.
template <class T>
struct Serializer<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>> {
  static constexpr bool fixed_size = true;
  static constexpr std::size_t size = sizeof(T);
  static constexpr std::size_t min_size = sizeof(T);

  static void write(Writer& w, const T& v) { w.write_bytes(&v, sizeof(T)); }
  static T read(Reader& r) {
    std::remove_cv_t<T> v;
    r.read_bytes(&v, sizeof(T));
    return v;
  }
};

/// bool: one byte that must be 0 or 1 (any other byte would be an invalid bool object).
template <>
struct Serializer<bool> {
  static constexpr bool fixed_size = true;
  static constexpr std::size_t size = 1;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, bool v) {
    const auto byte = static_cast<std::uint8_t>(v);
    w.write_bytes(&byte, 1);
  }
  static bool read(Reader& r) {
    std::uint8_t byte;
    r.read_bytes(&byte, 1);
    if (byte > 1) [[unlikely]] {
      detail::throw_corrupt("bool byte is neither 0 nor 1", r.offset() - 1);
    }
    return byte == 1;
  }
};

/// std::string: varint length, then the bytes.
template <>
struct Serializer<std::string> {
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, std::string_view v) {
    w.write_varint(v.size());
    w.write_bytes(v.data(), v.size());
  }
  static std::string read(Reader& r) { return std::string(r.read_view(r.read_count(1))); }
};

/// std::string_view: writes exactly like std::string, and reads back as an owning std::string
/// (a view into the Reader's buffer would dangle once the block is freed).
template <>
struct Serializer<std::string_view> {
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, std::string_view v) { Serializer<std::string>::write(w, v); }
  static std::string read(Reader& r) { return Serializer<std::string>::read(r); }
};

/// std::pair: first, then second.
template <class A, class B>
struct Serializer<std::pair<A, B>> {
  static constexpr bool supported = is_serializable_v<A> && is_serializable_v<B>;
  static constexpr bool fixed_size =
      detail::serializer_of<A>::fixed_size && detail::serializer_of<B>::fixed_size;
  static constexpr std::size_t size =
      fixed_size ? detail::serializer_of<A>::size + detail::serializer_of<B>::size : 0;
  static constexpr std::size_t min_size = detail::min_size_of_v<A> + detail::min_size_of_v<B>;

  static void write(Writer& w, const std::pair<A, B>& v) {
    detail::serializer_of<A>::write(w, v.first);
    detail::serializer_of<B>::write(w, v.second);
  }
  static std::pair<deserialized_t<A>, deserialized_t<B>> read(Reader& r) {
    // Braced initialisation evaluates its elements left to right, matching the write order.
    return {detail::serializer_of<A>::read(r), detail::serializer_of<B>::read(r)};
  }
};

/// std::tuple: the elements in order.
template <class... Ts>
struct Serializer<std::tuple<Ts...>> {
  static constexpr bool supported = (is_serializable_v<Ts> && ...);
  static constexpr bool fixed_size = (detail::serializer_of<Ts>::fixed_size && ...);
  static constexpr std::size_t size =
      fixed_size ? (std::size_t{0} + ... + detail::serializer_of<Ts>::size) : 0;
  static constexpr std::size_t min_size = (std::size_t{0} + ... + detail::min_size_of_v<Ts>);

  static void write(Writer& w, const std::tuple<Ts...>& v) {
    std::apply([&w](const Ts&... e) { (detail::serializer_of<Ts>::write(w, e), ...); }, v);
  }
  static std::tuple<deserialized_t<Ts>...> read([[maybe_unused]] Reader& r) {
    return std::tuple<deserialized_t<Ts>...>{detail::serializer_of<Ts>::read(r)...};
  }
};

/// std::array: the N elements in order (one memcpy for raw-encoded elements).
template <class T, std::size_t N>
struct Serializer<std::array<T, N>> {
  static constexpr bool supported = is_serializable_v<T>;
  static constexpr bool fixed_size = detail::serializer_of<T>::fixed_size;
  static constexpr std::size_t size = fixed_size ? N * detail::serializer_of<T>::size : 0;
  static constexpr std::size_t min_size = N * detail::min_size_of_v<T>;

  static void write(Writer& w, const std::array<T, N>& v) {
    if constexpr (detail::is_raw_encoded_v<T>) {
      w.write_bytes(v.data(), sizeof(T) * N);
    } else {
      for (const T& e : v) detail::serializer_of<T>::write(w, e);
    }
  }
  static std::array<deserialized_t<T>, N> read(Reader& r) {
    using R = deserialized_t<T>;
    if constexpr (detail::is_raw_encoded_v<T>) {
      std::array<R, N> out;
      r.read_bytes(out.data(), sizeof(T) * N);
      return out;
    } else if constexpr (std::is_default_constructible_v<R>) {
      std::array<R, N> out;
      for (R& e : out) e = detail::serializer_of<T>::read(r);
      return out;
    } else {
      return read_each(r, std::make_index_sequence<N>{});
    }
  }

 private:
  template <std::size_t... I>
  static std::array<deserialized_t<T>, N> read_each(Reader& r, std::index_sequence<I...>) {
    return {{(static_cast<void>(I), detail::serializer_of<T>::read(r))...}};
  }
};

/// std::vector: varint count, then the elements (one memcpy for raw-encoded elements).
template <class T, class Alloc>
struct Serializer<std::vector<T, Alloc>> {
  static constexpr bool supported = is_serializable_v<T>;
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  using result_type =
      std::vector<deserialized_t<T>,
                  typename std::allocator_traits<Alloc>::template rebind_alloc<deserialized_t<T>>>;

  static void write(Writer& w, const std::vector<T, Alloc>& v) {
    w.write_varint(v.size());
    if constexpr (detail::is_raw_encoded_v<T>) {
      w.write_bytes(v.data(), sizeof(T) * v.size());
    } else {
      for (const auto& e : v) detail::serializer_of<T>::write(w, e);
    }
  }
  static result_type read(Reader& r) {
    detail::check_container_element<T>();
    result_type out;
    if constexpr (detail::is_raw_encoded_v<T>) {
      // The count is checked against the bytes that remain, so this allocates no more than that.
      out.resize(r.read_count(sizeof(T)));
      r.read_bytes(out.data(), sizeof(T) * out.size());
    } else {
      const std::size_t count = r.read_count(detail::min_size_of_v<T>);
      out.reserve(detail::upfront_reserve<deserialized_t<T>>(count));
      for (std::size_t i = 0; i < count; ++i) out.push_back(detail::serializer_of<T>::read(r));
    }
    return out;
  }
};

/// std::optional: a byte (0 empty, 1 engaged), then the value when engaged.
template <class T>
struct Serializer<std::optional<T>> {
  static constexpr bool supported = is_serializable_v<T>;
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, const std::optional<T>& v) {
    Serializer<bool>::write(w, v.has_value());
    if (v) detail::serializer_of<T>::write(w, *v);
  }
  static std::optional<deserialized_t<T>> read(Reader& r) {
    if (!Serializer<bool>::read(r)) return std::nullopt;
    return detail::serializer_of<T>::read(r);
  }
};

namespace detail {

// Shared by map, unordered_map, set and unordered_set: varint count, then each element (a map's
// key before its value) in the container's iteration order. Rebuilt with the same comparator or
// hash type; a repeated key means the bytes are corrupt.
template <class Container, class Result, class... Parts>
struct AssociativeSerializer {
  static constexpr bool supported = (is_serializable_v<Parts> && ...);
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, const Container& c) {
    w.write_varint(c.size());
    for (const auto& e : c) {
      if constexpr (sizeof...(Parts) == 2) {
        serializer_of<typename Container::key_type>::write(w, e.first);
        serializer_of<typename Container::mapped_type>::write(w, e.second);
      } else {
        serializer_of<typename Container::key_type>::write(w, e);
      }
    }
  }
  static Result read(Reader& r) {
    (check_container_element<Parts>(), ...);
    const std::size_t count = r.read_count((std::size_t{0} + ... + min_size_of_v<Parts>));
    Result out;
    if constexpr (requires { out.reserve(count); }) {
      out.reserve(upfront_reserve<typename Result::value_type>(count));
    }
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = r.offset();
      bool inserted;
      if constexpr (sizeof...(Parts) == 2) {
        // Named locals: the key must be read before the value.
        auto key = serializer_of<typename Container::key_type>::read(r);
        auto value = serializer_of<typename Container::mapped_type>::read(r);
        inserted = out.try_emplace(std::move(key), std::move(value)).second;
      } else {
        inserted = out.insert(serializer_of<typename Container::key_type>::read(r)).second;
      }
      if (!inserted) [[unlikely]] throw_corrupt("repeated key in a map or set", at);
    }
    return out;
  }
};

template <class Alloc, class T>
using rebind_t = typename std::allocator_traits<Alloc>::template rebind_alloc<T>;

}  // namespace detail

/// std::map: varint count, then key and value of each entry in key order.
template <class K, class V, class Compare, class Alloc>
struct Serializer<std::map<K, V, Compare, Alloc>>
    : detail::AssociativeSerializer<
          std::map<K, V, Compare, Alloc>,
          std::map<deserialized_t<K>, deserialized_t<V>, Compare,
                   detail::rebind_t<Alloc, std::pair<const deserialized_t<K>, deserialized_t<V>>>>,
          K, V> {};

/// std::unordered_map: varint count, then key and value of each entry in iteration order.
template <class K, class V, class Hash, class Eq, class Alloc>
struct Serializer<std::unordered_map<K, V, Hash, Eq, Alloc>>
    : detail::AssociativeSerializer<
          std::unordered_map<K, V, Hash, Eq, Alloc>,
          std::unordered_map<
              deserialized_t<K>, deserialized_t<V>, Hash, Eq,
              detail::rebind_t<Alloc, std::pair<const deserialized_t<K>, deserialized_t<V>>>>,
          K, V> {};

/// std::set: varint count, then the keys in order.
template <class K, class Compare, class Alloc>
struct Serializer<std::set<K, Compare, Alloc>>
    : detail::AssociativeSerializer<
          std::set<K, Compare, Alloc>,
          std::set<deserialized_t<K>, Compare, detail::rebind_t<Alloc, deserialized_t<K>>>, K> {};

/// std::unordered_set: varint count, then the keys in iteration order.
template <class K, class Hash, class Eq, class Alloc>
struct Serializer<std::unordered_set<K, Hash, Eq, Alloc>>
    : detail::AssociativeSerializer<
          std::unordered_set<K, Hash, Eq, Alloc>,
          std::unordered_set<deserialized_t<K>, Hash, Eq,
                             detail::rebind_t<Alloc, deserialized_t<K>>>,
          K> {};

/// Opt-in to the Boost path for a type whose serialize() spate cannot see: one that keeps it
/// private behind `friend class boost::serialization::access;`. Specialise as
/// `template <> inline constexpr bool use_boost_serialization<MyType> = true;`.
template <class T>
inline constexpr bool use_boost_serialization = false;

namespace detail {

namespace adl {
// Ordinary lookup finds only this, so a free serialize() counts only when ADL finds it next to T.
void serialize() = delete;

template <class T>
concept has_free_serialize = requires(T& t, boost::archive::binary_oarchive& out,
                                      BoundedBinaryIArchive& in) {
  serialize(out, t, 0u);
  serialize(in, t, 0u);
};
}  // namespace adl

template <class T>
concept has_member_serialize = requires(T& t, boost::archive::binary_oarchive& out,
                                        BoundedBinaryIArchive& in) {
  t.serialize(out, 0u);
  t.serialize(in, 0u);
};

// Class types outside the fast path that Boost.Serialization can save and load.
template <class T>
inline constexpr bool uses_boost_v =
    std::is_class_v<T> && !std::is_const_v<T> && !has_fast_path_v<T> &&
    (has_member_serialize<T> || adl::has_free_serialize<T> || use_boost_serialization<T>);

// Appends a stream's output to a std::string, for Boost's output archive.
class StringStreambuf : public std::streambuf {
 public:
  explicit StringStreambuf(std::string& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      out_.push_back(traits_type::to_char_type(c));
    }
    return traits_type::not_eof(c);
  }

 private:
  std::string& out_;
};

// No header (both ends are the same binary) and no locale facet (binary data needs none).
inline constexpr unsigned kBoostArchiveFlags =
    boost::archive::no_header | boost::archive::no_codecvt;

}  // namespace detail

/// Any other class type with Boost.Serialization's `template <class Archive> void
/// serialize(Archive&, unsigned)` member (or a free `serialize(Archive&, T&, unsigned)` found
/// next to T): a varint length, then a Boost binary archive of the value, read back by
/// BoundedBinaryIArchive, so the Archive of serialize() must be a template parameter (or that
/// type). T must be default-constructible, because Boost loads into an existing object. Costs a Boost archive per
/// value (about a microsecond), so hot record types do better as tuples of fast-path types.
template <class T>
struct Serializer<T, std::enable_if_t<detail::uses_boost_v<T>>> {
  static constexpr bool fixed_size = false;
  static constexpr std::size_t size = 0;
  static constexpr std::size_t min_size = 1;

  static void write(Writer& w, const T& v) {
    std::string blob;
    {
      detail::StringStreambuf buf(blob);
      boost::archive::binary_oarchive archive(buf, detail::kBoostArchiveFlags);
      archive << v;
    }
    w.write_varint(blob.size());
    w.write_bytes(blob.data(), blob.size());
  }

  static T read(Reader& r) {
    static_assert(std::is_default_constructible_v<T>,
                  "spate serialises this type through Boost.Serialization, which loads into a "
                  "default-constructed object: give it a default constructor");
    T v;
    read_into(r, v);
    return v;
  }

  /// Loads the next value into an existing object (for types that are not movable).
  static void read_into(Reader& r, T& v) {
    const std::size_t at = r.offset();
    detail::ViewStreambuf buf(r.read_view(r.read_count(1)));
    try {
      detail::BoundedBinaryIArchive archive(buf, detail::kBoostArchiveFlags);
      archive >> v;
    } catch (const spate::error&) {
      throw;  // the type's own serialize() rejected the value; its message says why
    } catch (const std::exception& e) {
      // archive_exception on a short blob or a bad bool, length_error on a length or count
      // larger than the blob.
      throw serialization_error("spate: Boost.Serialization could not load a " +
                                boost::core::demangle(typeid(T).name()) + " at offset " +
                                std::to_string(at) + ": " + e.what());
    }
    if (buf.unread() != 0) {
      detail::throw_corrupt("Boost archive has trailing bytes", at);
    }
  }
};

/// Appends the encoding of v.
template <class T>
void serialize_to(Writer& w, const T& v) {
  detail::serializer_of<T>::write(w, v);
}

/// Reads the next value of type T (std::string_view reads as std::string; see deserialized_t).
template <class T>
deserialized_t<T> deserialize_from(Reader& r) {
  return detail::serializer_of<T>::read(r);
}

/// The encoding of v as a string of bytes.
template <class T>
std::string to_bytes(const T& v) {
  Writer w;
  serialize_to(w, v);
  return std::move(w).take();
}

/// Decodes a value of type T that must span exactly `bytes`; throws on short or trailing bytes.
template <class T>
deserialized_t<T> from_bytes(std::string_view bytes) {
  Reader r(bytes);
  auto v = deserialize_from<T>(r);
  if (!r.at_end()) detail::throw_corrupt("trailing bytes after the value", r.offset());
  return v;
}

}  // namespace spate
