// The Boost input archive spate reads user types with: Boost's binary archive, except that what
// a hostile blob claims is checked before it costs anything. Boost's own binary_iarchive trusts
// lengths and counts: a corrupt count of 2^40 inside a blob of 20 bytes allocates (and zeroes) a
// terabyte before the read fails, and a corrupt class id inside a pointer indexes past Boost's
// tables.
#pragma once

#include <algorithm>
#include <cstddef>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/archive/basic_archive.hpp>
#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <boost/serialization/item_version_type.hpp>
#include <boost/serialization/library_version_type.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/vector.hpp>

#include "spate/detail/nesting_guard.hpp"

namespace spate::detail {

/// Reads a std::string_view as a stream; never writes to the bytes.
class ViewStreambuf : public std::streambuf {
 public:
  explicit ViewStreambuf(std::string_view bytes) {
    char* p = const_cast<char*>(bytes.data());
    setg(p, p, p + bytes.size());
  }
  /// Bytes not read yet.
  std::size_t unread() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

/// Boost's binary input archive over a ViewStreambuf; reads what boost::archive::binary_oarchive
/// writes, and refuses what could cost more than the blob's bytes:
/// - std::length_error for a string longer, or a collection count larger, than the bytes left
///   (so a count of zero-byte elements, as a vector of empty structs has, past the bytes left is
///   refused too), and for objects nested more than kMaxDepth deep;
/// - boost::archive::archive_exception for a bool or tracking flag that is neither 0 nor 1, a
///   pointer other than a null one (records travel by value: Boost indexes its class tables
///   with the class id a pointer carries), and a C string (char*, of unknown buffer size).
/// Vectors grow as their elements arrive (a count is only a claim), and hash containers take
/// their bucket count as a hint capped by their size.
class BoundedBinaryIArchive
    : public boost::archive::binary_iarchive_impl<BoundedBinaryIArchive, char,
                                                  std::char_traits<char>> {
  using Base =
      boost::archive::binary_iarchive_impl<BoundedBinaryIArchive, char, std::char_traits<char>>;
  // Boost calls the overrides below through the most derived archive.
  friend class boost::archive::detail::interface_iarchive<BoundedBinaryIArchive>;
  friend class boost::archive::basic_binary_iarchive<BoundedBinaryIArchive>;
  friend class boost::archive::basic_binary_iprimitive<BoundedBinaryIArchive, char,
                                                       std::char_traits<char>>;
  friend class boost::archive::load_access;

 public:
  /// Loads nested deeper than this inside one value are refused: each costs Boost several stack
  /// frames. A member is one level, an element of a collection two (its "item" wrapper and it).
  static constexpr std::size_t kMaxDepth = 512;

  /// Reads from `in`; `flags` as for binary_iarchive (spate passes no_header | no_codecvt).
  BoundedBinaryIArchive(ViewStreambuf& in, unsigned flags);

  /// Throws std::length_error unless `count` items of `item_bytes` bytes each fit in the bytes
  /// left; `what` names the count in the message.
  void require(std::size_t count, std::size_t item_bytes, const char* what) const;
  /// The next collection count read is a capacity hint its loader caps, not a claim of bytes.
  void next_count_is_a_hint() noexcept { count_is_hint_ = true; }

 protected:
  template <class T>
  void load_override(T& t) {
    NestingGuard nesting(depth_, kMaxDepth, &throw_too_deep);
    Base::load_override(t);
  }
  void load_override(boost::serialization::collection_size_type& t);
  void load_override(boost::archive::class_id_type& t);
  void load_override(boost::archive::tracking_type& t);

  using Base::load;
  void load(std::string& s);
  void load(std::wstring& s);
  void load(bool& b);
  // A C string loads into a buffer of unknown size: refused (std::string reads fine).
  void load(char* s);
  void load(wchar_t* s);

 private:
  [[noreturn]] static void throw_too_deep();

  ViewStreambuf& in_;
  std::size_t depth_ = 0;
  bool count_is_hint_ = false;
};

}  // namespace spate::detail

// Before any template below asks whether the archive optimises arrays.
BOOST_SERIALIZATION_REGISTER_ARCHIVE(spate::detail::BoundedBinaryIArchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(spate::detail::BoundedBinaryIArchive)

namespace spate::detail {

// Loads of standard containers for this archive, found by argument-dependent lookup (the
// archive's namespace) and preferred to Boost's as more specialised. Same bytes as Boost's.

/// A vector: arithmetic elements as one array checked against the bytes left; others one by one,
/// the vector growing as they arrive.
template <class U, class A>
void load(BoundedBinaryIArchive& ar, std::vector<U, A>& v, const unsigned int version) {
  namespace bs = boost::serialization;
  if constexpr (!std::is_default_constructible_v<U>) {
    bs::load(ar, v, version);  // Boost's, through load_construct_data; counts are still checked
  } else if constexpr (bs::use_array_optimization<BoundedBinaryIArchive>::template apply<
                           std::remove_const_t<U>>::type::value) {
    bs::collection_size_type count;
    ar >> bs::make_nvp("count", count);
    unsigned int item_version = 0;
    if (BOOST_SERIALIZATION_VECTOR_VERSIONED(ar.get_library_version()))
      ar >> bs::make_nvp("item_version", item_version);
    ar.require(count, sizeof(U), "vector of that many elements");
    v.resize(count);
    if (count > 0) ar >> bs::make_array<U, bs::collection_size_type>(v.data(), count);
  } else {
    bs::collection_size_type count;
    ar >> bs::make_nvp("count", count);
    bs::item_version_type item_version(0);
    if (bs::library_version_type(3) < ar.get_library_version())
      ar >> bs::make_nvp("item_version", item_version);
    v.clear();
    for (std::size_t done = 0; done < count;) {
      std::size_t next = std::min<std::size_t>(count, std::max<std::size_t>(2 * done, 16));
      v.resize(next);
      for (; done < next; ++done) ar >> bs::make_nvp("item", v[done]);
    }
  }
}

/// vector<bool> is Boost's: a bit per element the count allows (it needs a byte each).
template <class A>
void load(BoundedBinaryIArchive& ar, std::vector<bool, A>& v, const unsigned int version) {
  boost::serialization::load(ar, v, version);
}

/// Boost's layout of a hash container: count, bucket count, item version, items.
template <class Input, class C>
void load_hash_container(BoundedBinaryIArchive& ar, C& c) {
  namespace bs = boost::serialization;
  bs::collection_size_type count;
  bs::collection_size_type buckets;
  ar >> bs::make_nvp("count", count);
  ar.next_count_is_a_hint();
  ar >> bs::make_nvp("bucket_count", buckets);
  bs::item_version_type item_version(0);
  if (bs::library_version_type(3) < ar.get_library_version())
    ar >> bs::make_nvp("item_version", item_version);
  c.clear();
  c.rehash(std::min<std::size_t>(buckets, count));
  Input input;
  for (std::size_t i = 0; i < count; ++i) input(ar, c, item_version);
}

template <class K, class T, class H, class E, class A>
void load(BoundedBinaryIArchive& ar, std::unordered_map<K, T, H, E, A>& c, const unsigned int) {
  using C = std::unordered_map<K, T, H, E, A>;
  load_hash_container<boost::serialization::stl::archive_input_unordered_map<BoundedBinaryIArchive, C>>(ar, c);
}

template <class K, class T, class H, class E, class A>
void load(BoundedBinaryIArchive& ar, std::unordered_multimap<K, T, H, E, A>& c,
          const unsigned int) {
  using C = std::unordered_multimap<K, T, H, E, A>;
  load_hash_container<
      boost::serialization::stl::archive_input_unordered_multimap<BoundedBinaryIArchive, C>>(ar, c);
}

template <class K, class H, class E, class A>
void load(BoundedBinaryIArchive& ar, std::unordered_set<K, H, E, A>& c, const unsigned int) {
  using C = std::unordered_set<K, H, E, A>;
  load_hash_container<boost::serialization::stl::archive_input_unordered_set<BoundedBinaryIArchive, C>>(ar, c);
}

template <class K, class H, class E, class A>
void load(BoundedBinaryIArchive& ar, std::unordered_multiset<K, H, E, A>& c, const unsigned int) {
  using C = std::unordered_multiset<K, H, E, A>;
  load_hash_container<
      boost::serialization::stl::archive_input_unordered_multiset<BoundedBinaryIArchive, C>>(ar, c);
}

}  // namespace spate::detail

