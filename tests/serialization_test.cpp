// Tests for spate/serialization.hpp (records) and spate/detail/function_shipping.hpp (function
// objects): round trips, the fixed-size trait, hostile bytes, and shipping to another process.
#include <spate/detail/function_shipping.hpp>
#include <spate/serialization.hpp>

#include <catch2/catch.hpp>

#include <boost/serialization/deque.hpp>
#include <boost/serialization/unique_ptr.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using spate::deserialize_from;
using spate::deserialized_t;
using spate::is_serializable_v;
using spate::Reader;
using spate::serialization_error;
using spate::serialize_to;
using spate::Serializer;
using spate::Writer;

enum class Color : std::uint8_t { red, green, blue };
enum Wide : std::int64_t { wide_low = -5, wide_high = 1LL << 40 };

// A user record that goes through Boost.Serialization via a public member.
struct UserRecord {
  std::string name;
  std::int64_t id = 0;
  std::vector<double> weights;

  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & name & id & weights;
  }
  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

// A record with a private serialize() behind Boost's friend idiom, opted in explicitly.
class Secretive {
 public:
  Secretive() = default;
  explicit Secretive(int v) : v_(v) {}
  int value() const { return v_; }
  friend bool operator==(const Secretive&, const Secretive&) = default;

 private:
  friend class boost::serialization::access;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & v_;
  }
  int v_ = 0;
};

// A record whose own serialize() rejects a loaded value with spate's error.
struct Picky {
  int level = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & level;
    if (level < 0) throw serialization_error("Picky: negative level " + std::to_string(level));
  }
};

struct Unsupported {
  int* p = nullptr;
};

// A type with no default constructor, encoded by a user's Serializer specialisation.
struct Meters {
  explicit Meters(double v) : value(v) {}
  double value;
  friend bool operator==(const Meters&, const Meters&) = default;
};

}  // namespace

namespace geo {
// A record whose serialize() is a free function found next to it.
struct Point {
  double x = 0;
  double y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};
template <class Archive>
void serialize(Archive& ar, Point& p, unsigned /*version*/) {
  ar & p.x & p.y;
}
}  // namespace geo

template <>
inline constexpr bool spate::use_boost_serialization<Secretive> = true;

template <>
struct spate::Serializer<Meters> {
  static constexpr bool fixed_size = true;
  static constexpr std::size_t size = 8;
  static constexpr std::size_t min_size = 8;
  static void write(Writer& w, const Meters& m) { serialize_to(w, m.value); }
  static Meters read(Reader& r) { return Meters(deserialize_from<double>(r)); }
};

namespace {

// ---- random values of every supported shape ----

using Rng = std::mt19937_64;

template <class T, class = void>
struct Gen;

template <class T>
T random_value(Rng& rng) {
  return Gen<T>::make(rng);
}

// How deep inside containers the value being generated is: long sizes only near the top, so
// nested values stay small enough to round-trip many of.
int g_depth = 0;
struct Deeper {
  Deeper() { ++g_depth; }
  ~Deeper() { --g_depth; }
};

std::size_t random_size(Rng& rng) {
  if (g_depth > 1) return rng() % 4;
  switch (rng() % 8) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 200 + rng() % 300;  // past one-byte varint lengths
    default: return rng() % 8;
  }
}

template <class T>
struct Gen<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static T make(Rng& rng) {
    // Small, boundary and full-range values, so varint-sized and sign cases all occur.
    switch (rng() % 4) {
      case 0: return static_cast<T>(rng() % 3);
      case 1: return std::numeric_limits<T>::max();
      case 2: return std::numeric_limits<T>::min();
      default: return static_cast<T>(rng());
    }
  }
};
template <>
struct Gen<bool> {
  static bool make(Rng& rng) { return (rng() & 1) != 0; }
};
template <class T>
struct Gen<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static T make(Rng& rng) {
    constexpr std::array<T, 6> kSpecial = {
        T(-0.0), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
        std::numeric_limits<T>::denorm_min(), std::numeric_limits<T>::max(),
        std::numeric_limits<T>::lowest()};
    if (rng() % 4 == 0) return kSpecial[rng() % kSpecial.size()];
    return std::uniform_real_distribution<T>(-1e6, 1e6)(rng);
  }
};
template <class T>
struct Gen<T, std::enable_if_t<std::is_enum_v<T>>> {
  static T make(Rng& rng) { return static_cast<T>(random_value<std::underlying_type_t<T>>(rng)); }
};
template <>
struct Gen<std::string> {
  static std::string make(Rng& rng) {
    const bool long_one = g_depth == 0 && rng() % 16 == 0;
    std::string s(long_one ? 20000 + rng() % 5000 : random_size(rng) * 5, '\0');
    for (char& c : s) c = static_cast<char>(rng());  // any byte, '\0' included
    return s;
  }
};
template <class A, class B>
struct Gen<std::pair<A, B>> {
  static std::pair<A, B> make(Rng& rng) {
    A a = random_value<A>(rng);
    return {std::move(a), random_value<B>(rng)};
  }
};
template <class... Ts>
struct Gen<std::tuple<Ts...>> {
  static std::tuple<Ts...> make([[maybe_unused]] Rng& rng) {
    return std::tuple<Ts...>{random_value<Ts>(rng)...};
  }
};
template <class T, std::size_t N>
struct Gen<std::array<T, N>> {
  static std::array<T, N> make(Rng& rng) {
    std::array<T, N> a{};
    for (T& e : a) e = random_value<T>(rng);
    return a;
  }
};
template <class T>
struct Gen<std::vector<T>> {
  static std::vector<T> make(Rng& rng) {
    std::vector<T> v;
    const std::size_t n = random_size(rng);
    const Deeper deeper;
    for (std::size_t i = 0; i < n; ++i) v.push_back(random_value<T>(rng));
    return v;
  }
};
template <class T>
struct Gen<std::optional<T>> {
  static std::optional<T> make(Rng& rng) {
    if (rng() % 3 == 0) return std::nullopt;
    return random_value<T>(rng);
  }
};
template <class C>
C random_associative(Rng& rng) {
  C c;
  const std::size_t n = random_size(rng);
  const Deeper deeper;
  for (std::size_t i = 0; i < n; ++i) c.insert(random_value<typename C::value_type>(rng));
  return c;
}
template <class K, class V>
struct Gen<std::map<K, V>> {
  static std::map<K, V> make(Rng& rng) { return random_associative<std::map<K, V>>(rng); }
};
template <class K, class V>
struct Gen<std::unordered_map<K, V>> {
  static std::unordered_map<K, V> make(Rng& rng) {
    return random_associative<std::unordered_map<K, V>>(rng);
  }
};
template <class K>
struct Gen<std::set<K>> {
  static std::set<K> make(Rng& rng) { return random_associative<std::set<K>>(rng); }
};
template <class K>
struct Gen<std::unordered_set<K>> {
  static std::unordered_set<K> make(Rng& rng) {
    return random_associative<std::unordered_set<K>>(rng);
  }
};
template <class A, class B>
struct Gen<std::pair<const A, B>> {
  static std::pair<const A, B> make(Rng& rng) {
    A a = random_value<A>(rng);
    return {std::move(a), random_value<B>(rng)};
  }
};
template <>
struct Gen<UserRecord> {
  static UserRecord make(Rng& rng) {
    return {random_value<std::string>(rng), random_value<std::int64_t>(rng),
            random_value<std::vector<double>>(rng)};
  }
};
template <>
struct Gen<geo::Point> {
  static geo::Point make(Rng& rng) {
    return {random_value<double>(rng), random_value<double>(rng)};
  }
};
template <>
struct Gen<Secretive> {
  static Secretive make(Rng& rng) { return Secretive(random_value<int>(rng)); }
};

constexpr std::array<std::uint64_t, 4> kSeeds = {1, 42, 20240601, 0xdeadbeef};

// Writes `count` random values back to back, reads them back, and checks every one and the end.
template <class T>
void check_round_trip(std::uint64_t seed, std::size_t count = 60) {
  Rng rng(seed);
  std::vector<T> values;
  for (std::size_t i = 0; i < count; ++i) values.push_back(random_value<T>(rng));
  Writer w;
  for (const T& v : values) {
    const std::size_t before = w.size();
    serialize_to(w, v);
    if constexpr (Serializer<T>::fixed_size) REQUIRE(w.size() - before == Serializer<T>::size);
  }
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  for (const T& v : values) REQUIRE(deserialize_from<T>(r) == v);
  REQUIRE(r.at_end());
}

// Decodes a copy of every strict prefix of `bytes` in its own exact-size heap block (so that
// AddressSanitizer sees any read past it) and requires each to throw serialization_error.
template <class T>
void check_every_truncation_throws(const std::string& bytes) {
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto prefix = std::make_unique<char[]>(cut);
    std::memcpy(prefix.get(), bytes.data(), cut);
    Reader r(std::string_view(prefix.get(), cut));
    INFO("cut at " << cut << " of " << bytes.size());
    REQUIRE_THROWS_AS(deserialize_from<T>(r), serialization_error);
  }
}

template <class T>
void check_truncations(std::uint64_t seed, std::size_t samples = 4) {
  Rng rng(seed);
  for (std::size_t i = 0; i < samples; ++i) {
    std::string bytes = spate::to_bytes(random_value<T>(rng));
    if (bytes.size() > 3000) continue;  // quadratic in size; long strings are covered elsewhere
    check_every_truncation_throws<T>(bytes);
  }
}

std::string varint_bytes(std::uint64_t v) {
  Writer w;
  w.write_varint(v);
  return std::move(w).take();
}

// A std::allocator that records the largest single allocation, to see what decoding reserves.
inline std::size_t g_largest_allocation = 0;
template <class T>
struct RecordingAllocator {
  using value_type = T;
  RecordingAllocator() = default;
  template <class U>
  RecordingAllocator(const RecordingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    g_largest_allocation = std::max(g_largest_allocation, n * sizeof(T));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
  friend bool operator==(const RecordingAllocator&, const RecordingAllocator&) = default;
};

using Nested = std::vector<
    std::pair<std::string, std::optional<std::tuple<int, double, std::vector<std::int64_t>>>>>;
using NestedMap = std::map<std::string, std::vector<std::pair<std::int16_t, std::string>>>;
using NestedOptional = std::optional<std::vector<std::optional<std::string>>>;
using IntMap = std::map<int, int>;
using StringIntMap = std::map<std::string, int>;

}  // namespace

// ---- compile-time contract ----

static_assert(!is_serializable_v<Unsupported>);
static_assert(!is_serializable_v<int*>);
static_assert(!is_serializable_v<std::vector<Unsupported>>);
static_assert(!is_serializable_v<std::pair<int, Unsupported>>);
static_assert(!is_serializable_v<std::map<std::string, std::optional<Unsupported>>>);
static_assert(is_serializable_v<UserRecord> && is_serializable_v<geo::Point> &&
              is_serializable_v<Secretive> && is_serializable_v<Meters>);
static_assert(is_serializable_v<Nested> && is_serializable_v<NestedMap> &&
              is_serializable_v<const std::pair<const std::string, int>>);

static_assert(Serializer<std::int32_t>::fixed_size && Serializer<std::int32_t>::size == 4);
static_assert(Serializer<double>::fixed_size && Serializer<double>::size == 8);
static_assert(Serializer<bool>::fixed_size && Serializer<bool>::size == 1);
static_assert(Serializer<Color>::fixed_size && Serializer<Color>::size == 1);
static_assert(Serializer<Wide>::fixed_size && Serializer<Wide>::size == 8);
static_assert(Serializer<std::pair<std::int64_t, std::int64_t>>::fixed_size &&
              Serializer<std::pair<std::int64_t, std::int64_t>>::size == 16);
static_assert(Serializer<std::tuple<std::int8_t, double, std::array<std::int16_t, 3>>>::size == 15);
static_assert(Serializer<std::array<std::pair<float, bool>, 4>>::size == 20);
static_assert(Serializer<std::tuple<>>::fixed_size && Serializer<std::tuple<>>::size == 0);
static_assert(!Serializer<std::string>::fixed_size && !Serializer<std::string_view>::fixed_size);
static_assert(!Serializer<std::vector<int>>::fixed_size);
static_assert(!Serializer<std::optional<int>>::fixed_size);
static_assert(!Serializer<std::pair<int, std::string>>::fixed_size);
static_assert(!Serializer<UserRecord>::fixed_size);

static_assert(std::is_same_v<deserialized_t<std::string_view>, std::string>);
static_assert(std::is_same_v<deserialized_t<std::pair<std::string_view, int>>,
                             std::pair<std::string, int>>);
static_assert(std::is_same_v<deserialized_t<std::vector<std::tuple<std::string_view>>>,
                             std::vector<std::tuple<std::string>>>);
static_assert(std::is_same_v<deserialized_t<Nested>, Nested>);

// ---- records ----

TEMPLATE_TEST_CASE("serializer round-trips random values of every fast-path type",
                   "[serialization]", std::int8_t, std::uint8_t, std::int16_t, std::uint16_t,
                   std::int32_t, std::uint32_t, std::int64_t, std::uint64_t, char, char8_t,
                   float, double, bool, Color, Wide, std::byte, std::string,
                   (std::pair<std::int64_t, std::int64_t>), (std::pair<std::string, std::int64_t>),
                   (std::tuple<std::int8_t, double, std::string, bool>), std::tuple<>,
                   (std::array<std::int16_t, 3>), (std::array<std::string, 2>),
                   std::vector<std::int32_t>, std::vector<double>, std::vector<bool>,
                   std::vector<std::string>, (std::vector<std::array<float, 3>>),
                   std::optional<std::string>, std::optional<int>, (std::map<std::string, int>),
                   (std::unordered_map<std::int64_t, std::string>), std::set<int>,
                   std::unordered_set<std::string>) {
  for (std::uint64_t seed : kSeeds) check_round_trip<TestType>(seed);
}

TEMPLATE_TEST_CASE("serializer round-trips random nested combinations", "[serialization]", Nested,
                   NestedMap, NestedOptional,
                   (std::tuple<std::vector<std::string>, std::optional<std::pair<int, bool>>,
                               std::array<std::optional<std::int64_t>, 2>>),
                   (std::map<std::int32_t, std::set<std::string>>),
                   (std::vector<std::vector<std::vector<std::uint8_t>>>)) {
  for (std::uint64_t seed : kSeeds) check_round_trip<TestType>(seed, 20);
}

TEMPLATE_TEST_CASE("user types with serialize() round-trip through Boost, alone and nested",
                   "[serialization]", UserRecord, geo::Point, Secretive,
                   std::vector<UserRecord>, (std::pair<int, UserRecord>),
                   std::optional<UserRecord>, (std::map<std::string, geo::Point>)) {
  for (std::uint64_t seed : kSeeds) check_round_trip<TestType>(seed, 20);
}

TEST_CASE("fixed-size types encode to exactly Serializer<T>::size bytes", "[serialization]") {
  CHECK(spate::to_bytes(std::int32_t{-1}).size() == 4);
  CHECK(spate::to_bytes(std::pair<std::int64_t, std::int64_t>{1, 2}).size() == 16);
  CHECK(spate::to_bytes(std::tuple<std::int8_t, double, std::array<std::int16_t, 3>>{}).size() ==
        15);
  CHECK(spate::to_bytes(std::tuple<>{}).empty());
  // Little-endian raw bytes: the wire format other tools may rely on.
  CHECK(spate::to_bytes(std::uint32_t{0x01020304}) == std::string("\x04\x03\x02\x01", 4));
}

TEST_CASE("varints use one byte below 128 and round-trip up to 2^64-1", "[serialization]") {
  CHECK(varint_bytes(0).size() == 1);
  CHECK(varint_bytes(127).size() == 1);
  CHECK(varint_bytes(128).size() == 2);
  CHECK(varint_bytes(std::numeric_limits<std::uint64_t>::max()).size() == 10);
  Writer w;
  for (std::uint64_t v = 1; v != 0; v <<= 1) {
    w.write_varint(v);
    w.write_varint(v - 1);
  }
  w.write_varint(std::numeric_limits<std::uint64_t>::max());
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  for (std::uint64_t v = 1; v != 0; v <<= 1) {
    REQUIRE(r.read_varint() == v);
    REQUIRE(r.read_varint() == v - 1);
  }
  REQUIRE(r.read_varint() == std::numeric_limits<std::uint64_t>::max());
  REQUIRE(r.at_end());
}

TEST_CASE("a NaN double round-trips bit for bit", "[serialization]") {
  const double nan = std::nan("0x5ca1ab1e");
  const auto back = spate::from_bytes<double>(spate::to_bytes(nan));
  CHECK(std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(nan));
}

TEST_CASE("string_view writes the bytes of std::string and reads back as std::string",
          "[serialization]") {
  const std::string text("views \0 too", 11);
  const std::string_view view = text;
  CHECK(spate::to_bytes(view) == spate::to_bytes(text));
  std::string back = spate::from_bytes<std::string_view>(spate::to_bytes(view));
  CHECK(back == text);
  const std::vector<std::pair<std::string_view, int>> views = {{"a", 1}, {"bc", 2}};
  const auto owned = spate::from_bytes<std::vector<std::pair<std::string_view, int>>>(
      spate::to_bytes(views));
  CHECK(owned == std::vector<std::pair<std::string, int>>{{"a", 1}, {"bc", 2}});
}

TEST_CASE("types without a default constructor read back through containers",
          "[serialization]") {
  const std::vector<Meters> v = {Meters(1.5), Meters(-2)};
  CHECK(spate::from_bytes<std::vector<Meters>>(spate::to_bytes(v)) == v);
  const std::array<Meters, 3> a = {Meters(1), Meters(2), Meters(3)};
  CHECK(spate::from_bytes<std::array<Meters, 3>>(spate::to_bytes(a)) == a);
  const std::optional<std::pair<Meters, int>> o = std::pair{Meters(7), 8};
  CHECK(spate::from_bytes<std::optional<std::pair<Meters, int>>>(spate::to_bytes(o)) == o);
}

TEST_CASE("a Writer continues after initial bytes and take() leaves it empty",
          "[serialization]") {
  Writer w(std::string("head"));
  serialize_to(w, std::string("tail"));
  CHECK(w.size() == 9);
  CHECK(w.view().substr(0, 4) == "head");
  const std::string bytes = std::move(w).take();
  CHECK(bytes.size() == 9);
  CHECK(w.size() == 0);  // NOLINT(bugprone-use-after-move): take() documents the empty state
  Reader r(std::string_view(bytes).substr(4));
  CHECK(deserialize_from<std::string>(r) == "tail");
}

// ---- hostile bytes ----

TEMPLATE_TEST_CASE("every truncation of an encoding throws serialization_error",
                   "[serialization]", std::int64_t, bool, std::string,
                   (std::pair<std::string, std::int64_t>), std::vector<std::int32_t>,
                   std::vector<std::string>, std::optional<std::string>,
                   (std::map<std::string, int>), std::unordered_set<std::string>, Nested,
                   NestedMap, NestedOptional, UserRecord, std::vector<UserRecord>,
                   (std::pair<int, geo::Point>)) {
  for (std::uint64_t seed : kSeeds) check_truncations<TestType>(seed);
}

TEST_CASE("randomly corrupted fast-path bytes decode or throw serialization_error, never crash",
          "[serialization]") {
  Rng rng(7);
  int decoded = 0;
  int rejected = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = spate::to_bytes(random_value<Nested>(rng));
    if (bytes.empty()) continue;
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    auto copy = std::make_unique<char[]>(bytes.size());
    std::memcpy(copy.get(), bytes.data(), bytes.size());
    try {
      Reader r(std::string_view(copy.get(), bytes.size()));
      (void)deserialize_from<Nested>(r);
      ++decoded;
    } catch (const serialization_error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
  CHECK(decoded + rejected > 0);
}

TEST_CASE("a short read names the bytes needed, the offset and what remains",
          "[serialization]") {
  const std::string bytes = "abc";
  Reader r(bytes);
  REQUIRE_THROWS_WITH(deserialize_from<std::int64_t>(r),
                      Catch::Contains("need 8 bytes at offset 0, only 3 remain"));
  CHECK(r.remaining() == 3);  // a failed read consumes nothing
}

TEST_CASE("huge declared counts and lengths throw before anything is allocated",
          "[serialization]") {
  const std::string garbage(64, '\x05');
  const std::string huge = varint_bytes(std::uint64_t{1} << 60) + garbage;
  g_largest_allocation = 0;

  using RawVector = std::vector<std::int64_t, RecordingAllocator<std::int64_t>>;
  using StringVector = std::vector<std::string, RecordingAllocator<std::string>>;
  CHECK_THROWS_WITH(spate::from_bytes<RawVector>(huge),
                    Catch::Contains("count of 1152921504606846976 elements"));
  CHECK_THROWS_AS(spate::from_bytes<StringVector>(huge), serialization_error);
  CHECK_THROWS_AS(spate::from_bytes<std::string>(huge), serialization_error);
  CHECK_THROWS_AS(spate::from_bytes<IntMap>(huge), serialization_error);
  CHECK_THROWS_AS(spate::from_bytes<std::unordered_set<std::string>>(huge), serialization_error);
  CHECK_THROWS_AS(spate::from_bytes<UserRecord>(huge), serialization_error);
  CHECK(g_largest_allocation == 0);

  // A count that just overshoots what remains: 3 int64 promised, 16 bytes present.
  CHECK_THROWS_AS(spate::from_bytes<RawVector>(varint_bytes(3) + std::string(16, '\0')),
                  serialization_error);

  // A count that fits one byte per string (so it passes the check) reserves at most about 1 MiB
  // up front, not count * sizeof(std::string); the first string's length is already corrupt.
  const std::size_t count = 4'000'000;
  const std::string many = varint_bytes(count) + std::string(count, '\x80');
  CHECK_THROWS_AS(spate::from_bytes<StringVector>(many), serialization_error);
  CHECK(g_largest_allocation <= (std::size_t{1} << 20) + sizeof(std::string));
}

TEST_CASE("malformed varints, bools and optional flags throw serialization_error",
          "[serialization]") {
  Reader overlong{std::string_view("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11)};
  CHECK_THROWS_WITH(overlong.read_varint(), Catch::Contains("longer than 10 bytes"));
  Reader overflow{std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10)};
  CHECK_THROWS_WITH(overflow.read_varint(), Catch::Contains("overflows 64 bits"));
  Reader cut_varint{std::string_view("\xff\xff", 2)};
  CHECK_THROWS_AS(cut_varint.read_varint(), serialization_error);
  CHECK_THROWS_WITH(spate::from_bytes<bool>(std::string(1, '\x02')),
                    Catch::Contains("neither 0 nor 1"));
  CHECK_THROWS_AS(spate::from_bytes<std::optional<int>>(std::string("\x07\0\0\0\0", 5)),
                  serialization_error);
  CHECK_THROWS_WITH(spate::from_bytes<std::int32_t>(std::string(5, '\0')),
                    Catch::Contains("trailing bytes"));
}

TEST_CASE("a map with a repeated key is rejected as corrupt", "[serialization]") {
  Writer w;
  w.write_varint(2);
  for (int i = 0; i < 2; ++i) {
    serialize_to(w, std::string("k"));
    serialize_to(w, i);
  }
  CHECK_THROWS_WITH(spate::from_bytes<StringIntMap>(std::move(w).take()),
                    Catch::Contains("repeated key"));
}

TEST_CASE("a corrupt Boost blob throws serialization_error naming the type", "[serialization]") {
  std::string bytes = spate::to_bytes(UserRecord{"abc", 7, {1.0, 2.0}});
  // Shorten the blob's declared length by one: Boost runs out of input inside the blob.
  bytes = varint_bytes(static_cast<std::uint8_t>(bytes[0]) - 1) + bytes.substr(1, bytes.size() - 2);
  CHECK_THROWS_WITH(spate::from_bytes<UserRecord>(bytes), Catch::Contains("UserRecord"));
}

TEST_CASE("a Boost blob claiming a string or collection longer than its bytes is refused unallocated",
          "[serialization]") {
  const UserRecord record{"abc", 7, {1.0, 2.0}};
  const std::string good = spate::to_bytes(record);
  REQUIRE(spate::from_bytes<UserRecord>(good) == record);
  // Inside the blob, Boost writes a string's length and a collection's count as 8 raw bytes
  // just before the elements. Claim 2^40 instead: the blob has a few dozen bytes.
  const std::uint64_t huge = std::uint64_t{1} << 40;
  auto with_count_before = [&](std::string_view elements) {
    std::string bytes = good;
    std::size_t at = bytes.find(elements);
    REQUIRE(at != std::string::npos);
    REQUIRE(at >= 8);
    std::memcpy(bytes.data() + at - 8, &huge, 8);
    return bytes;
  };
  CHECK_THROWS_WITH(spate::from_bytes<UserRecord>(with_count_before("abc")),
                    Catch::Contains("UserRecord") &&
                        Catch::Contains("claims a string length of 1099511627776 with"));
  double first = 1.0;
  CHECK_THROWS_WITH(
      spate::from_bytes<UserRecord>(
          with_count_before(std::string_view(reinterpret_cast<const char*>(&first), sizeof first))),
      Catch::Contains("UserRecord") &&
          Catch::Contains("claims a collection size of 1099511627776 with"));
}

namespace {

struct Lookup {
  std::unordered_map<std::string, int> index;
  std::unordered_set<int> seen;
  std::vector<std::string> names;
  std::vector<bool> bits;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & index & seen & names & bits;
  }
  friend bool operator==(const Lookup&, const Lookup&) = default;
};

struct Leaf {
  int v = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & v;
  }
};

struct Holder {
  std::unique_ptr<Leaf> leaf;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & leaf;
  }
};

struct Flags {
  bool on = false;
  std::int32_t marker = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & on & marker;
  }
};

struct Tree {
  std::vector<Tree> kids;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar & kids;
  }
  std::size_t depth() const { return kids.empty() ? 1 : 1 + kids.front().depth(); }
};

Tree chain_of(std::size_t depth) {
  Tree t;
  for (std::size_t i = 1; i < depth; ++i) {
    Tree up;
    up.kids.push_back(std::move(t));
    t = std::move(up);
  }
  return t;
}

}  // namespace

TEST_CASE("Boost-serialised hash containers, vectors and bit vectors round-trip, reserved ones too",
          "[serialization]") {
  Lookup l;
  l.index.reserve(5000);  // far more buckets than the blob has bytes: only a hint
  l.index = {{"a", 1}, {"bb", 2}};
  l.seen.reserve(3000);
  l.seen = {4, 5, 6};
  for (int i = 0; i < 40; ++i) l.names.push_back(std::string(static_cast<std::size_t>(i), 'x'));
  l.bits = {true, false, true};
  CHECK(spate::from_bytes<Lookup>(spate::to_bytes(l)) == l);
  CHECK(spate::from_bytes<Lookup>(spate::to_bytes(Lookup{})) == Lookup{});
}

TEST_CASE("a pointer inside a Boost archive is refused, and a null one reads as null",
          "[serialization]") {
  Holder empty;
  CHECK(spate::from_bytes<Holder>(spate::to_bytes(empty)).leaf == nullptr);
  Holder full;
  full.leaf = std::make_unique<Leaf>(Leaf{7});
  CHECK_THROWS_WITH(spate::from_bytes<Holder>(spate::to_bytes(full)),
                    Catch::Contains("Holder") && Catch::Contains("a pointer inside a Boost archive is refused"));
}

TEST_CASE("a bool inside a Boost archive that is neither 0 nor 1 is refused", "[serialization]") {
  std::string bytes = spate::to_bytes(Flags{true, 0x5a5a5a5a});
  std::size_t at = bytes.find("\x5a\x5a\x5a\x5a");
  REQUIRE(at != std::string::npos);
  REQUIRE(bytes[at - 1] == 1);
  bytes[at - 1] = 2;
  CHECK_THROWS_WITH(spate::from_bytes<Flags>(bytes),
                    Catch::Contains("Flags") && Catch::Contains("a bool that is neither 0 nor 1"));
}

TEST_CASE("objects nested past the Boost archive's depth limit are refused, shallower ones read",
          "[serialization]") {
  CHECK(spate::from_bytes<Tree>(spate::to_bytes(chain_of(100))).depth() == 100);
  // Each level is three nested loads (the Tree, its vector, the element's wrapper).
  CHECK_THROWS_WITH(spate::from_bytes<Tree>(spate::to_bytes(chain_of(200))),
                    Catch::Contains("Tree") && Catch::Contains("nests objects more than 512 deep"));
}

TEST_CASE("an error thrown by a type's own serialize() passes through unchanged",
          "[serialization]") {
  CHECK_THROWS_WITH(spate::from_bytes<Picky>(spate::to_bytes(Picky{-3})),
                    "Picky: negative level -3");
}

// ---- shipping function objects ----

namespace {

int triple(int x) { return 3 * x; }

// Defined at namespace scope so that a child process names the same closure type.
auto make_affine_lambda(std::int64_t slope, double offset, std::array<int, 4> table) {
  return [slope, offset, table](std::int64_t x) {
    return static_cast<double>(slope * x + table[static_cast<std::size_t>(x) % 4]) + offset;
  };
}
using AffineLambda = decltype(make_affine_lambda(0, 0, {}));

// A function object with state that is not trivially copyable: ships through serialize().
struct Polynomial {
  std::vector<double> coefficients;
  std::string name;

  double operator()(double x) const {
    double y = 0;
    for (auto it = coefficients.rbegin(); it != coefficients.rend(); ++it) y = y * x + *it;
    return y;
  }
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar & coefficients & name;
  }
};

const Polynomial kPolynomial{{1.0, -2.5, 0.25}, "p"};
const AffineLambda kAffine = make_affine_lambda(-7, 0.5, {1, 20, 300, 4000});

std::string ship_all() {
  Writer w;
  spate::detail::write_function(w, kAffine);
  spate::detail::write_function(w, &triple);
  spate::detail::write_function(w, kPolynomial);
  return std::move(w).take();
}

// Evaluates the three shipped functions of ship_all() rebuilt from `bytes`, as text.
std::string evaluate_shipped(std::string_view bytes) {
  Reader r(bytes);
  auto affine = spate::detail::read_function<AffineLambda>(r);
  auto tripler = spate::detail::read_function<int (*)(int)>(r);
  auto poly = spate::detail::read_function<Polynomial>(r);
  std::string out;
  for (int x = -3; x <= 3; ++x) {
    out += std::to_string(affine(x)) + " " + std::to_string(tripler(x)) + " " +
           std::to_string(poly(x)) + "\n";
  }
  return r.at_end() ? out : "trailing bytes";
}

std::string evaluate_local() {
  std::string out;
  for (int x = -3; x <= 3; ++x) {
    out += std::to_string(kAffine(x)) + " " + std::to_string(triple(x)) + " " +
           std::to_string(kPolynomial(x)) + "\n";
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

static_assert(spate::detail::ship_method_v<AffineLambda> == spate::detail::ShipMethod::bytes);
static_assert(spate::detail::ship_method_v<std::plus<>> == spate::detail::ShipMethod::bytes);
static_assert(spate::detail::ship_method_v<int (*)(int)> ==
              spate::detail::ShipMethod::code_address);
static_assert(spate::detail::ship_method_v<Polynomial> == spate::detail::ShipMethod::serialize);
static_assert(!spate::detail::is_shippable_v<std::function<int(int)>>);
static_assert(!spate::detail::is_shippable_v<int (Polynomial::*)(int)>);
static_assert(!spate::detail::is_shippable_v<std::reference_wrapper<const AffineLambda>>);
static_assert(!spate::detail::is_shippable_v<decltype([s = std::string("x")](int) { return s; })>);
static_assert(!std::is_default_constructible_v<AffineLambda>);
static_assert(spate::detail::ship_method_v<double Polynomial::*> ==
              spate::detail::ShipMethod::bytes);
static_assert(!is_serializable_v<std::deque<int>>);  // even with boost/serialization/deque.hpp

TEST_CASE("a lambda capturing values ships as bytes and computes the same after rebuilding",
          "[serialization][shipping]") {
  Writer w;
  spate::detail::write_function(w, kAffine);
  CHECK(w.size() == 1 + sizeof(AffineLambda));
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  auto shipped = spate::detail::read_function<AffineLambda>(r);
  CHECK(r.at_end());
  for (std::int64_t x = -100; x <= 100; ++x) REQUIRE(shipped(x) == kAffine(x));

  const auto copy = shipped;  // copies and moves rebuild the closure, never default-construct it
  auto moved = std::move(shipped);
  CHECK(copy(5) == kAffine(5));
  CHECK(moved(6) == kAffine(6));
}

namespace {
auto make_padded_lambda(char c, double d) {
  return [c, d](int x) { return c + d * x; };  // 7 padding bytes between c and d
}
using PaddedLambda = decltype(make_padded_lambda(0, 0));
}  // namespace

TEST_CASE("a shipped closure's padding bytes go out as zeros, not as this process's memory",
          "[serialization][shipping]") {
  static_assert(!std::has_unique_object_representations_v<PaddedLambda>);
  auto shipped_from = [](unsigned char garbage) {
    alignas(PaddedLambda) unsigned char storage[sizeof(PaddedLambda)];
    std::memset(storage, garbage, sizeof storage);
    // Built in place: its members are set, its padding keeps the garbage.
    auto* f = ::new (static_cast<void*>(storage)) PaddedLambda(make_padded_lambda('a', 1.5));
    Writer w;
    spate::detail::write_function(w, *f);
    return std::move(w).take();
  };
  const std::string a = shipped_from(0xaa);
  CHECK(a == shipped_from(0x55));
  CHECK(a.find('\xaa') == std::string::npos);
  Reader r(a);
  CHECK(spate::detail::read_function<PaddedLambda>(r)(2) == 'a' + 3.0);
}

TEST_CASE("a mutable lambda keeps its state across calls after shipping",
          "[serialization][shipping]") {
  auto counter = [n = 10]() mutable { return n++; };
  Writer w;
  spate::detail::write_function(w, counter);
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  auto shipped = spate::detail::read_function<decltype(counter)>(r);
  CHECK(shipped() == 10);
  CHECK(shipped() == 11);
}

TEST_CASE("a function object with serialize() ships through Boost", "[serialization][shipping]") {
  Writer w;
  spate::detail::write_function(w, kPolynomial);
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  const auto shipped = spate::detail::read_function<Polynomial>(r);
  CHECK(shipped.get().name == "p");
  for (double x = -4; x <= 4; x += 0.5) REQUIRE(shipped(x) == kPolynomial(x));
}

TEST_CASE("a function pointer and std::plus<> ship and are called", "[serialization][shipping]") {
  Writer w;
  spate::detail::write_function(w, &triple);
  spate::detail::write_function(w, static_cast<int (*)(int)>(nullptr));
  spate::detail::write_function(w, std::plus<>{});
  const std::string bytes = std::move(w).take();
  Reader r(bytes);
  CHECK(spate::detail::read_function<int (*)(int)>(r)(14) == 42);
  CHECK(spate::detail::read_function<int (*)(int)>(r).get() == nullptr);
  CHECK(spate::detail::read_function<std::plus<>>(r)(2, 3) == 5);
  CHECK(r.at_end());
}

TEST_CASE("shipped function bytes of the wrong size or truncated throw serialization_error",
          "[serialization][shipping]") {
  const std::string wrong_size = varint_bytes(3) + "abc";
  Reader r(wrong_size);
  CHECK_THROWS_WITH(spate::detail::read_function<AffineLambda>(r),
                    Catch::Contains("different build"));

  const std::string bytes = ship_all();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto prefix = std::make_unique<char[]>(cut);
    std::memcpy(prefix.get(), bytes.data(), cut);
    INFO("cut at " << cut << " of " << bytes.size());
    REQUIRE_THROWS_AS(evaluate_shipped(std::string_view(prefix.get(), cut)), serialization_error);
  }

  Writer w;
  spate::detail::write_function(w, &triple);
  std::string pointer = std::move(w).take();
  pointer.back() = '\x7f';  // the offset's last byte: now points outside the executable's code
  Reader bad(pointer);
  CHECK_THROWS_AS(spate::detail::read_function<int (*)(int)>(bad), serialization_error);
}

// Run by the next test in a fresh process of this binary: address-space randomisation loads it
// elsewhere, so only correctly shipped functions compute the same results there.
TEST_CASE("shipping child: evaluates functions written by another process", "[.][shipping_child]") {
  const char* dir = std::getenv("SPATE_SHIPPING_TEST_DIR");
  if (dir == nullptr) return;
  const std::filesystem::path base(dir);
  std::ofstream(base / "results", std::ios::binary) << evaluate_shipped(read_file(base / "bytes"));
}

TEST_CASE("functions shipped to a fresh process compute what they compute here",
          "[serialization][shipping]") {
  const auto base = std::filesystem::temp_directory_path() /
                    ("spate_shipping_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(base);
  std::ofstream(base / "bytes", std::ios::binary) << ship_all();

  const std::string env = "SPATE_SHIPPING_TEST_DIR=" + base.string();
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(const_cast<char*>(env.c_str()));
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string test_name = "shipping child: evaluates functions written by another process";
  char* argv[] = {exe.data(), test_name.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(read_file(base / "results") == evaluate_local());
  std::filesystem::remove_all(base);
}
