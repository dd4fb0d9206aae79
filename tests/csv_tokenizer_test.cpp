// Tests of CsvTokenizer: split_plain_line (lines without quotes, one vector pass) and split (any
// record, padded or not) cut every record as the reference parser of csv_reference.hpp does,
// wherever separators and quotes fall against 16-byte vectors; and the inline digit readers
// agree with parse_text_field.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "csv_reference.hpp"
#include "formats/csv_tokenizer.hpp"
#include "spate/detail/text_field.hpp"

namespace {

using spate::detail::CsvRecord;
using spate::detail::CsvTokenizer;

/// The tokenizer's fields of `record`, padded (in a buffer with 16 bytes of junk after it, as a
/// LineReader block has) or not; false when it calls the record malformed.
bool tokenize(CsvTokenizer& t, const std::string& record, bool padded, std::vector<spate_test::RefField>& out) {
  std::string buffer = record + ",\",\",\",\",\",\",\",\"";  // junk a scan must not take
  CsvRecord r;
  out.clear();
  if (t.split(buffer.data(), buffer.data() + record.size(), r, padded) != nullptr) return false;
  for (std::size_t i = 0; i < r.size(); ++i) out.push_back({std::string(r[i]), r.quoted(i)});
  return true;
}

std::string random_record(std::mt19937_64& rng) {
  static const char kBytes[] = "ab,,,\"\"x\r\n 7";
  std::string r;
  const std::size_t n = 1 + rng() % 70;
  for (std::size_t i = 0; i < n; ++i) {
    // Records mostly without quotes, so that the vector path runs as often as the other.
    char c = kBytes[rng() % (sizeof kBytes - 1)];
    if (c == '"' && rng() % 3 != 0) c = 'q';
    r += c;
  }
  return r;
}

}  // namespace

TEST_CASE("CsvTokenizer cuts random records as the reference does, padded or not", "[csv]") {
  std::mt19937_64 rng(17);
  CsvTokenizer padded_tokenizer(',', '"'), plain_tokenizer(',', '"');
  std::vector<spate_test::RefField> want, padded, plain;
  for (int i = 0; i < 20000; ++i) {
    const std::string record = random_record(rng);
    const bool ok = spate_test::ref_split(record, ',', '"', want);
    INFO("record: " << record);
    REQUIRE(tokenize(padded_tokenizer, record, true, padded) == ok);
    REQUIRE(tokenize(plain_tokenizer, record, false, plain) == ok);
    if (!ok) continue;
    REQUIRE(padded.size() == want.size());
    REQUIRE(plain.size() == want.size());
    for (std::size_t f = 0; f < want.size(); ++f) {
      CHECK(padded[f].text == want[f].text);
      CHECK(padded[f].quoted == want[f].quoted);
      CHECK(plain[f].text == want[f].text);
      CHECK(plain[f].quoted == want[f].quoted);
    }
  }
}

TEST_CASE("CsvTokenizer reads hundreds of fields and separators on 16-byte boundaries", "[csv]") {
  CsvTokenizer t(';', '\'');
  std::vector<spate_test::RefField> got;
  // 300 fields of 15 bytes: each separator is the 16th byte, the last of a vector.
  std::string record;
  for (int i = 0; i < 300; ++i) record += (i ? ";" : "") + std::string(15, static_cast<char>('a' + i % 26));
  REQUIRE(tokenize(t, record, true, got));
  REQUIRE(got.size() == 300);
  CHECK(got[299].text == std::string(15, static_cast<char>('a' + 299 % 26)));
  // A record of separators only: one empty field more than separators.
  REQUIRE(tokenize(t, std::string(40, ';'), true, got));
  CHECK(got.size() == 41);
  // Then a quote after several vectors of plain fields.
  REQUIRE(tokenize(t, record + ";'x;''y'", true, got));
  REQUIRE(got.size() == 301);
  CHECK(got[300].text == "x;'y");
  CHECK(got[300].quoted);
  CHECK_FALSE(tokenize(t, record + ";x'", true, got));
}

TEST_CASE("parse_plain_digits and parse_padded_digits read what parse_text_field reads, and leave the rest to it",
          "[csv]") {
  using spate::detail::parse_padded_digits;
  using spate::detail::parse_plain_digits;
  using spate::detail::parse_text_field;
  const char* const texts[] = {"0", "7", "007", "127", "128", "255", "256", "-1", "+5", "", "12a", " 1",
                               "32767", "32768", "65536", "2147483647", "2147483648", "4294967296",
                               "999999999999999999", "9223372036854775807", "9223372036854775808",
                               "18446744073709551615", "18446744073709551616", "12345678", "00000000",
                               "1234567a", "a2345678", "123456789", "x23456789", "12345678/", "1709251200000",
                               "17092512:0000", "1234567890123456x7", "123456789012345678", "1234567890123456",
                               "12345678901234567", "123456789012345", "1234567/", "/2345678", "1234:678"};
  auto agrees = [](const char* text, auto value) {
    using I = decltype(value);
    I fast{}, padded_fast{}, slow{};
    const bool inline_read = parse_plain_digits(std::string_view(text), fast);
    // Digits after the field, which a word read past its end must not take.
    const std::string padded = std::string(text) + "99999999";
    const bool padded_read = parse_padded_digits(std::string_view(padded.data(), std::strlen(text)), padded_fast);
    const bool compiled_read = parse_text_field(std::string_view(text), slow) == nullptr;
    INFO(text);
    CHECK(padded_read == inline_read);
    if (inline_read) {
      CHECK(compiled_read);
      CHECK(fast == slow);
      CHECK(padded_fast == slow);
    }
    // Only plain digits of a value the type holds are read inline.
    const bool plain = std::strlen(text) > 0 && std::strlen(text) <= 18 &&
                       std::strspn(text, "0123456789") == std::strlen(text);
    if (plain && compiled_read) CHECK(inline_read);
  };
  for (const char* text : texts) {
    agrees(text, std::int8_t{});
    agrees(text, std::uint8_t{});
    agrees(text, std::int16_t{});
    agrees(text, std::uint16_t{});
    agrees(text, std::int32_t{});
    agrees(text, std::uint32_t{});
    agrees(text, std::int64_t{});
    agrees(text, std::uint64_t{});
  }
}

TEST_CASE("CsvTokenizer::split_plain_line cuts lines without quotes as split does, and leaves the rest", "[csv]") {
  std::mt19937_64 rng(18);
  CsvTokenizer t(',', '"');
  std::vector<spate_test::RefField> want;
  for (int i = 0; i < 20000; ++i) {
    // A line, its '\n', a next line, and junk past the block's end as its padding.
    std::string line = random_record(rng);
    line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
    if (rng() % 8 == 0) line += '\r';
    std::string block = line + "\n" + random_record(rng) + "\n" + ",\",\",\n,\",\",\",\",\",\",\"";
    INFO("line: " << line);
    CsvRecord r;
    const char* nl = t.split_plain_line(block.data(), 1000, r);
    if (line.find('"') != std::string::npos) {
      CHECK(nl == nullptr);
      continue;
    }
    REQUIRE(nl == block.data() + line.size());
    std::string record = line;
    if (!record.empty() && record.back() == '\r') record.pop_back();
    REQUIRE(spate_test::ref_split(record, ',', '"', want));
    REQUIRE(r.size() == want.size());
    for (std::size_t f = 0; f < want.size(); ++f) {
      CHECK(std::string(r[f]) == want[f].text);
      CHECK_FALSE(r.quoted(f));
    }
  }
  // A line longer than the limit is left to the caller, which refuses it whole.
  std::string long_line(5000, ',');
  long_line.append(1, '\n').append(32, ' ');
  CsvRecord r;
  CHECK(t.split_plain_line(long_line.data(), 1000, r) == nullptr);
  CHECK(t.split_plain_line(long_line.data(), 6000, r) == long_line.data() + 5000);
  CHECK(r.size() == 5001);
}
