// Fuzz target: Context::object_file's reader (plan_object_file_splits, ObjectSplitReader, and the
// record decoding of ObjectFileNode) on any file content.
//
// Input: byte 0 picks the number of splits (1 to 16), the rest is the file, read as an object
// file of std::pair<std::string, std::int64_t>. Checks that every outcome is records or a
// spate::error, never a crash, a hang or a huge allocation; and that when the file reads whole
// as one split, the splits together read the same records, in order (each block exactly once,
// however the byte ranges fall).
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "spate/detail/object_file_format.hpp"

namespace {

using spate_fuzz::fail;
using Record = std::pair<std::string, std::int64_t>;

std::string g_path;  // the file each input is written to

/// A part that keeps what is written, to make seed files.
class StringPart final : public spate::detail::PartOutputSink::Part {
 public:
  void write_line(std::string_view line) override {
    bytes += line;
    bytes += '\n';
  }
  void write(std::string_view b) override { bytes += b; }
  void commit() override {}
  std::string bytes;
};

/// An object file of `n` records in blocks of `per_block`, compressed by `codec`.
std::string object_file_of(std::size_t n, std::size_t per_block, spate::detail::Codec codec) {
  StringPart part;
  spate::detail::ObjectFileWriter out(part, spate::detail::object_type_name<Record>(), codec);
  spate::Writer records;
  std::size_t in_block = 0;
  for (std::size_t i = 0; i < n; ++i) {
    spate::serialize_to(records, Record(std::string(i % 7, static_cast<char>('a' + i % 26)), std::int64_t(i) * 1000));
    if (++in_block == per_block) {
      out.add_block(records.view(), in_block);
      records.clear();
      in_block = 0;
    }
  }
  out.add_block(records.view(), in_block);
  out.finish();
  return part.bytes;
}

/// The records of every split of the file at g_path cut into `splits`, in order.
std::vector<Record> read_all(std::size_t splits) {
  std::vector<Record> out;
  auto planned = spate::detail::plan_object_file_splits(g_path, splits, spate::detail::object_type_name<Record>());
  for (const auto& split : planned) {
    spate::detail::ObjectSplitReader in(split, spate::detail::object_type_name<Record>());
    std::string_view block;
    std::uint64_t count = 0;
    while (in.next(block, count)) {
      spate::Reader r(block);
      for (std::uint64_t i = 0; i < count; ++i) {
        try {
          out.push_back(spate::deserialize_from<Record>(r));
        } catch (const spate::serialization_error& e) {
          in.throw_bad_records(e.what());
        }
      }
      if (!r.at_end()) in.throw_bad_records("bytes left after the last record");
    }
  }
  return out;
}

void write_input(const std::string& content) {
  std::ofstream f(g_path, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!f.flush()) fail("cannot write the input file");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/spate-fuzz-object-XXXXXX";
  if (::mkdtemp(dir) == nullptr) fail("cannot make a temporary directory");
  g_path = std::string(dir) + "/part-00000";
  using spate::detail::Codec;
  spate_fuzz::write_seeds_if_asked(
      "object", {std::string("\x03") + object_file_of(40, 7, Codec::none),
                 std::string("\x05") + object_file_of(300, 50, Codec::lz4),
                 std::string("\x02") + object_file_of(100, 100, Codec::zstd),
                 std::string("\x01") + object_file_of(0, 1, Codec::none)});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t splits = 1 + data[0] % 16;
  write_input(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::vector<Record> whole, parts;
  bool whole_ok = spate_fuzz::refused_or_done([&] { whole = read_all(1); });
  bool parts_ok = spate_fuzz::refused_or_done([&] { parts = read_all(splits); });
  if (whole_ok && !parts_ok) fail("the file reads whole, but not cut into splits");
  if (whole_ok && parts != whole) fail("the splits together read other records than the whole file");
  return 0;
}
