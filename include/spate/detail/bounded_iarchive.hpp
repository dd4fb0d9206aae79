// The Boost input archive spate reads user types with: Boost's binary archive, except that it
// checks every string length and collection count against the bytes that remain before it
// allocates. Boost's own binary_iarchive trusts them: a corrupt count of 2^40 inside a blob
// of 20 bytes allocates (and zeroes) a terabyte before the read fails.
#pragma once

#include <cstddef>
#include <streambuf>
#include <string>
#include <string_view>

#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/collection_size_type.hpp>

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

/// Boost's binary input archive over a ViewStreambuf that throws std::length_error for a string
/// longer, or a collection count larger, than the bytes left in the stream, and
/// boost::archive::archive_exception for a bool that is neither 0 nor 1 and for C strings
/// (char*, whose buffer's size the archive cannot know). Reads what
/// boost::archive::binary_oarchive writes. (A count of zero-byte elements, as a vector of
/// empty structs has, larger than the bytes left is refused too.)
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
  /// Reads from `in`; `flags` as for binary_iarchive (spate passes no_header | no_codecvt).
  BoundedBinaryIArchive(ViewStreambuf& in, unsigned flags);

 protected:
  template <class T>
  void load_override(T& t) {
    Base::load_override(t);
  }
  void load_override(boost::serialization::collection_size_type& t);

  using Base::load;
  void load(std::string& s);
  void load(std::wstring& s);
  void load(bool& b);
  // A C string loads into a buffer of unknown size: refused (std::string reads fine).
  void load(char* s);
  void load(wchar_t* s);

 private:
  // Throws std::length_error when `count` items of at least `item_bytes` bytes cannot fit.
  void require(std::size_t count, std::size_t item_bytes, const char* what) const;

  ViewStreambuf& in_;
};

}  // namespace spate::detail

BOOST_SERIALIZATION_REGISTER_ARCHIVE(spate::detail::BoundedBinaryIArchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(spate::detail::BoundedBinaryIArchive)
