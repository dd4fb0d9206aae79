// BoundedBinaryIArchive's checks, and the one instantiation of the Boost archive templates it
// derives from (Boost compiles them into its library only for its own archives).
#include "spate/detail/bounded_iarchive.hpp"

#include <fmt/format.h>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>
#include <stdexcept>

namespace boost::archive {
template class detail::archive_serializer_map<spate::detail::BoundedBinaryIArchive>;
template class basic_binary_iprimitive<spate::detail::BoundedBinaryIArchive, char,
                                       std::char_traits<char>>;
template class basic_binary_iarchive<spate::detail::BoundedBinaryIArchive>;
template class binary_iarchive_impl<spate::detail::BoundedBinaryIArchive, char,
                                    std::char_traits<char>>;
}  // namespace boost::archive

namespace spate::detail {

BoundedBinaryIArchive::BoundedBinaryIArchive(ViewStreambuf& in, unsigned flags)
    : Base(in, flags), in_(in) {
  init(flags);
}

void BoundedBinaryIArchive::require(std::size_t count, std::size_t item_bytes,
                                    const char* what) const {
  std::size_t left = in_.unread();
  if (count > left / item_bytes)
    throw std::length_error(fmt::format("the archive claims a {} of {} with {} byte{} left", what,
                                        count, left, left == 1 ? "" : "s"));
}

void BoundedBinaryIArchive::throw_too_deep() {
  throw std::length_error(
      fmt::format("the archive nests objects more than {} deep", kMaxDepth));
}

void BoundedBinaryIArchive::load_override(boost::serialization::collection_size_type& t) {
  Base::load_override(t);
  if (count_is_hint_) {
    count_is_hint_ = false;  // its loader caps it
    return;
  }
  // An element takes at least a byte in every collection but one of empty types.
  require(static_cast<std::size_t>(t), 1, "collection size");
}

void BoundedBinaryIArchive::load_override(boost::archive::class_id_type& t) {
  Base::load_override(t);
  // Only pointers carry a class id. Boost indexes its per-archive class tables with it, checking
  // a too-large one by assertion only and a negative one not at all.
  if (t != boost::archive::class_id_type(-1))  // the null pointer's tag
    throw boost::archive::archive_exception(
        boost::archive::archive_exception::unregistered_class,
        "spate reads records by value: a pointer inside a Boost archive is refused");
}

void BoundedBinaryIArchive::load_override(boost::archive::tracking_type& t) {
  bool tracked = false;
  load(tracked);
  t = boost::archive::tracking_type(tracked);
}

void BoundedBinaryIArchive::load(std::string& s) {
  std::size_t length = 0;
  load(length);
  require(length, 1, "string length");
  s.resize(length);
  if (length > 0) load_binary(s.data(), length);
}

void BoundedBinaryIArchive::load(std::wstring& s) {
  std::size_t length = 0;
  load(length);
  require(length, sizeof(wchar_t), "wide string length");
  s.resize(length);
  if (length > 0) load_binary(s.data(), length * sizeof(wchar_t));
}

void BoundedBinaryIArchive::load(bool& b) {
  unsigned char byte = 0;
  load_binary(&byte, 1);
  // Boost only asserts this; a bool holding another byte is undefined behaviour to read.
  if (byte > 1)
    throw boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error,
                                            "a bool that is neither 0 nor 1");
  b = byte == 1;
}

void BoundedBinaryIArchive::load(char*) {
  throw boost::archive::archive_exception(boost::archive::archive_exception::unsupported_class_version,
                                          "spate does not load C strings; use std::string");
}

void BoundedBinaryIArchive::load(wchar_t*) {
  throw boost::archive::archive_exception(boost::archive::archive_exception::unsupported_class_version,
                                          "spate does not load C strings; use std::wstring");
}

}  // namespace spate::detail
