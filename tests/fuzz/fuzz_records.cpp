// Fuzz target: the record deserialiser (Serializer<T> through deserialize_from / from_bytes).
//
// The first byte picks a record type that jobs shuffle, cache or send back; the rest is read as
// a shuffle bucket is (records one after another until the bytes end) and as one whole value
// (from_bytes). Checks, for any bytes:
// - reading ends in values or a spate::error (serialization_error), never anything else;
// - a value that decodes encodes to no more bytes than it was read from (the encoding is the
//   shortest: varints and lengths are canonical), and its encoding decodes to the same value
//   and the same bytes again.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "spate/clicklog.hpp"
#include "spate/serialization.hpp"

namespace {

using spate_fuzz::fail;
using spate_fuzz::refused_or_done;

// User record types with a Boost serialize(): fixed-size members only, and lengths and counts
// inside the archive (which BoundedBinaryIArchive checks against the blob's bytes).
struct UserPoint {
  std::int64_t x = 0;
  double y = 0;
  std::uint8_t tag = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    // clang-format off
    ar & x & y & tag;
    // clang-format on
  }
};

struct UserProfile {
  std::string name;
  std::vector<std::int64_t> visits;
  std::vector<std::string> tags;
  bool active = false;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    // clang-format off
    ar & name & visits & tags & active;
    // clang-format on
  }
  friend bool operator==(const UserProfile&, const UserProfile&) = default;
};

// Record types of real jobs: click-log rows and their aggregates, reduce_by_key / group_by_key /
// cogroup / join records, task counters and accumulator updates.
using RecordTypes = std::tuple<
    std::string,                                                  // text_file lines, owned
    std::pair<std::string, long>,                                 // word count
    std::vector<std::pair<long, double>>,                         //
    std::optional<std::string>,                                   // left_outer_join sides
    std::map<std::string, std::vector<int>>,                      //
    std::tuple<int, std::string, double, bool>,                   //
    spate::Click,                                                 // its own Serializer
    std::pair<std::int64_t, std::array<std::int64_t, 3>>,         // J1: per-campaign counts
    std::pair<std::string, std::vector<std::int64_t>>,            // J4: group_by_key
    std::pair<std::int64_t, std::pair<std::vector<std::int64_t>,  // cogroup
                                      std::vector<std::pair<std::string, std::int64_t>>>>,
    std::pair<std::string, std::pair<std::int64_t, std::optional<std::int64_t>>>,  // J3 join
    std::vector<std::optional<std::pair<std::string, std::set<long>>>>,
    std::unordered_map<std::string, std::uint64_t>,
    std::vector<std::pair<std::string, std::uint64_t>>,  // task counters
    std::vector<std::pair<std::uint64_t, std::string>>,  // accumulator updates
    std::tuple<std::vector<bool>, std::optional<double>, spate::Event, std::uint8_t>,
    std::string_view,  // reads back as std::string
    UserPoint,         // through Boost
    std::vector<std::pair<std::string, UserPoint>>,
    UserProfile>;  // through Boost, with lengths and counts

template <class T>
inline constexpr bool kHasUnorderedContainer = false;
template <class K, class V>
inline constexpr bool kHasUnorderedContainer<std::unordered_map<K, V>> = true;

// Values that == cannot check (a NaN double is unequal to itself; UserPoint has no ==): for those
// types the bytes are the check.
template <class T>
inline constexpr bool kBytesAreTheCheck = false;
template <>
inline constexpr bool kBytesAreTheCheck<std::vector<std::pair<long, double>>> = true;
template <>
inline constexpr bool kBytesAreTheCheck<std::tuple<int, std::string, double, bool>> = true;
template <>
inline constexpr bool kBytesAreTheCheck<
    std::tuple<std::vector<bool>, std::optional<double>, spate::Event, std::uint8_t>> = true;
template <>
inline constexpr bool kBytesAreTheCheck<UserPoint> = true;
template <>
inline constexpr bool kBytesAreTheCheck<std::vector<std::pair<std::string, UserPoint>>> = true;

// Types inside a Boost archive. Boost reads class information (a tracking flag, a class version)
// that its writer would not have written, e.g. a version of 3 billion for a type at version 0
// with the tracking flag set, and writes its own back, which can take more bytes than were
// read. For these only the round trip after the first encoding must be exact.
template <class T>
inline constexpr bool kBoostArchive = false;
template <>
inline constexpr bool kBoostArchive<UserPoint> = true;
template <>
inline constexpr bool kBoostArchive<UserProfile> = true;
template <>
inline constexpr bool kBoostArchive<std::vector<std::pair<std::string, UserPoint>>> = true;

template <class T>
void check_round_trip(const spate::deserialized_t<T>& value, std::size_t read_bytes) {
  using V = spate::deserialized_t<T>;
  const std::string once = spate::to_bytes(value);
  if (!kBoostArchive<T> && once.size() > read_bytes)
    fail("a value encodes to more bytes than it was read from");
  V again;
  if (!refused_or_done([&] { again = spate::from_bytes<V>(once); }))
    fail("the encoding of a decoded value is refused by its own decoder");
  if constexpr (!kBytesAreTheCheck<T>) {
    if (!(again == value)) fail("a value changes across encode and decode");
  }
  // An unordered container may iterate in another order once rebuilt; its value is the check.
  if constexpr (!kHasUnorderedContainer<T>) {
    if (spate::to_bytes(again) != once) fail("a value's encoding is not stable across decode");
  }
}

template <class T>
void check_type(std::string_view bytes) {
  using V = spate::deserialized_t<T>;
  // As a shuffle bucket is read: records until the bytes end (a bounded number, for speed).
  spate::Reader in(bytes);
  std::size_t first_read = 0;  // bytes the first record took; 0 if it was refused
  std::string first_encoding;
  for (int records = 0; records < 64 && !in.at_end(); ++records) {
    const std::size_t before = in.offset();
    std::optional<V> value;
    if (!refused_or_done([&] { value.emplace(spate::deserialize_from<T>(in)); })) break;
    if (in.offset() <= before) fail("a record was read from no bytes");
    check_round_trip<T>(*value, in.offset() - before);
    if (records == 0) {
      first_read = in.offset();
      first_encoding = spate::to_bytes(*value);
    }
  }
  // As a whole value: from_bytes accepts exactly the bytes that are one record, that record.
  std::optional<V> whole;
  const bool whole_ok = refused_or_done([&] { whole.emplace(spate::from_bytes<T>(bytes)); });
  if (whole_ok != (first_read == bytes.size() && !bytes.empty()))
    fail("from_bytes and deserialize_from disagree on whether the bytes are one value");
  if (!whole_ok) return;
  check_round_trip<T>(*whole, bytes.size());
  if (!kHasUnorderedContainer<T> && spate::to_bytes(*whole) != first_encoding)
    fail("from_bytes and deserialize_from read different values");
}

template <std::size_t... I>
void dispatch(std::size_t which, std::string_view bytes, std::index_sequence<I...>) {
  ((which == I ? check_type<std::tuple_element_t<I, RecordTypes>>(bytes) : void()), ...);
}

// Seeds: one value of each type (same order as RecordTypes), alone and as a bucket of three.
std::vector<std::string> real_records() {
  spate::Click click{1700000000123, "u42",    "s7", spate::Event::click, 17, 1703, "/p/shoes/991",
                     "DE",          "mobile", 2500};
  const std::tuple<
      std::string, std::pair<std::string, long>, std::vector<std::pair<long, double>>,
      std::optional<std::string>, std::map<std::string, std::vector<int>>,
      std::tuple<int, std::string, double, bool>, spate::Click,
      std::pair<std::int64_t, std::array<std::int64_t, 3>>,
      std::pair<std::string, std::vector<std::int64_t>>,
      std::pair<std::int64_t, std::pair<std::vector<std::int64_t>,
                                        std::vector<std::pair<std::string, std::int64_t>>>>,
      std::pair<std::string, std::pair<std::int64_t, std::optional<std::int64_t>>>,
      std::vector<std::optional<std::pair<std::string, std::set<long>>>>,
      std::unordered_map<std::string, std::uint64_t>,
      std::vector<std::pair<std::string, std::uint64_t>>,
      std::vector<std::pair<std::uint64_t, std::string>>,
      std::tuple<std::vector<bool>, std::optional<double>, spate::Event, std::uint8_t>,
      std::string_view, UserPoint, std::vector<std::pair<std::string, UserPoint>>, UserProfile>
      values{"GET /index.html",
             {"word", 3},
             {{1, 0.5}, {-2, 1e300}},
             std::string("left"),
             {{"a", {1, 2}}, {"b", {}}},
             {-1, "x\ty", 2.25, true},
             click,
             {17, {90, 9, 1}},
             {"u42", {1700000000123, 1700000001000}},
             {5, {{1, 2}, {{"r", 3}}}},
             {"ACME", {1000000, std::nullopt}},
             {std::nullopt, std::pair{std::string("k"), std::set<long>{-1, 7}}},
             {{"input.records", 100}},
             {{"shuffle.write.bytes", 4096}, {"input.records", 100}},
             {{1, std::string("\x05\0\0\0\0\0\0\0", 8)}},
             {{true, false, true}, 0.125, spate::Event::conversion, 255},
             "/p/books/12",
             UserPoint{-3, 0.5, 9},
             {{"a", UserPoint{1, 2.5, 3}}, {"b", UserPoint{}}},
             UserProfile{"u42", {1700000000123, 1700000001000}, {"vip", ""}, true}};
  static_assert(std::is_same_v<std::remove_const_t<decltype(values)>, RecordTypes>);
  std::vector<std::string> out;
  std::apply(
      [&out](const auto&... v) {
        std::uint8_t which = 0;
        ((out.push_back(std::string(1, static_cast<char>(which)) + spate::to_bytes(v)),
          out.push_back(std::string(1, static_cast<char>(which)) + spate::to_bytes(v) +
                        spate::to_bytes(v) + spate::to_bytes(v)),
          ++which),
         ...);
      },
      values);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spate_fuzz::write_seeds_if_asked("record", real_records());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::size_t kTypes = std::tuple_size_v<RecordTypes>;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  dispatch(data[0] % kTypes, bytes, std::make_index_sequence<kTypes>{});
  return 0;
}
