// Reading object files: planning their splits on the driver, and ObjectSplitReader in tasks.
#include <boost/core/demangle.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "io/input_files.hpp"
#include "io/object_file_bytes.hpp"
#include "io/input_split.hpp"
#include "io/object_file_layout.hpp"
#include "spate/detail/object_file_format.hpp"
#include "spate/error.hpp"

namespace spate::detail {

using namespace object_file;

namespace {

/// Checks the header of an object file of `size` bytes: magic, version, checksum, and that its
/// records are of type `type_name`. Returns where the first block starts.
std::uint64_t check_header(ObjectFileBytes& file, const std::string& path, std::string_view type_name) {
  constexpr std::size_t kFixed = 8 + 4 + 4;
  std::uint64_t size = file.size();
  if (size < kFixed + 8) {
    if (size == 0) throw io_error(fmt::format("object file '{}' is empty: an object file starts with a header (cut short?)", path));
    throw_damaged_object_file(path, size, "the file ends inside its header (cut short?)");
  }
  // One read holds any header (one GET for an S3 object).
  std::string head;
  file.read_at(0, static_cast<std::size_t>(std::min<std::uint64_t>(size, kFixed + kMaxTypeNameBytes + 8)), head);
  if (std::string_view(head).substr(0, 8) != kFileMagic)
    throw io_error(fmt::format("'{}' is not a spate object file (it does not start with {}): "
                               "object_file reads what save_as_object_file wrote",
                               path, kFileMagic));
  std::uint32_t version = get_u32(head.data() + 8);
  if (version != kVersion)
    throw io_error(fmt::format("object file '{}' has format version {}; this spate reads version {}",
                               path, version, kVersion));
  std::uint32_t name_bytes = get_u32(head.data() + 12);
  if (name_bytes > kMaxTypeNameBytes) throw_damaged_object_file(path, 12, fmt::format("a type name of {} bytes", name_bytes));
  std::uint64_t header_end = kFixed + name_bytes + 8;
  if (header_end > size) throw_damaged_object_file(path, size, "the file ends inside its header (cut short?)");
  if (hash(std::string_view(head).substr(0, header_end - 8)) != get_u64(head.data() + header_end - 8))
    throw_damaged_object_file(path, 0, "header checksum mismatch");
  std::string_view name = std::string_view(head).substr(kFixed, name_bytes);
  if (name != type_name)
    throw io_error(fmt::format(
        "object file '{}' holds records of type {}, not {}: read it with object_file<{}>", path,
        boost::core::demangle(std::string(name).c_str()), boost::core::demangle(std::string(type_name).c_str()),
        boost::core::demangle(std::string(name).c_str())));
  return header_end;
}

}  // namespace

std::vector<ObjectFileSplit> plan_object_file_splits(const std::string& path, std::size_t min_partitions,
                                                     std::string_view type_name) {
  std::vector<InputFile> files = list_input_files(path);
  std::uint64_t total = 0;
  for (InputFile& f : files) {
    f.compression = Compression::none;  // blocks are compressed inside; the file never is
    check_header(*open_object_file_bytes(f.path, f.size, f.mtime_ns, f.etag), f.path, type_name);
    total += f.size;
  }
  std::vector<ObjectFileSplit> splits;
  for (const InputSplit& s : plan_splits(files, split_target(total, min_partitions)))
    splits.push_back(ObjectFileSplit{s.path, s.begin, s.end, s.file_size, s.file_mtime_ns, s.etag});
  return splits;
}

using SplitFields = std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint64_t,
                               std::optional<std::int64_t>, std::string>;

void save_object_file_splits(Writer& w, const std::vector<ObjectFileSplit>& splits) {
  w.write_varint(splits.size());
  for (const auto& s : splits)
    serialize_to(w, SplitFields(s.path, s.begin, s.end, s.file_size, s.file_mtime_ns, s.etag));
}

std::vector<ObjectFileSplit> load_object_file_splits(Reader& r) {
  std::vector<ObjectFileSplit> splits(r.read_count(5));
  for (auto& s : splits) {
    auto [path, begin, end, size, mtime, etag] = deserialize_from<SplitFields>(r);
    if (begin > end || end > size) throw serialization_error("malformed object file split for " + path);
    s = ObjectFileSplit{std::move(path), begin, end, size, mtime, std::move(etag)};
  }
  return splits;
}

ObjectSplitReader::ObjectSplitReader(const ObjectFileSplit& split, std::string_view type_name)
    : path_(split.path),
      file_(open_object_file_bytes(split.path, split.file_size, split.file_mtime_ns, split.etag)),
      size_(file_->size()) {
  std::uint64_t header_end = check_header(*file_, path_, type_name);
  std::string bytes;
  if (size_ < header_end + kTrailerBytes + kIndexMagic.size() + 8)
    throw_damaged_object_file(path_, size_, "the file ends before its block index (cut short?)");
  file_->read_at(size_ - kTrailerBytes, kTrailerBytes, bytes);
  if (std::string_view(bytes).substr(16) != kEndMagic)
    throw_damaged_object_file(path_, size_ - 8, "no end marker: the file is cut short, or was not written whole");
  index_offset_ = get_u64(bytes.data());
  std::uint64_t count = get_u64(bytes.data() + 8);
  std::uint64_t index_end = size_ - kTrailerBytes;
  if (count > index_end / kIndexEntryBytes || index_offset_ < header_end || index_offset_ > index_end ||
      index_offset_ + kIndexMagic.size() + count * kIndexEntryBytes + 8 != index_end)
    throw_damaged_object_file(path_, size_ - kTrailerBytes,
                  fmt::format("the trailer's index ({} blocks at byte {}) does not fit the file", count, index_offset_));
  file_->read_at(index_offset_, static_cast<std::size_t>(index_end - index_offset_), bytes);
  if (std::string_view(bytes).substr(0, 4) != kIndexMagic) throw_damaged_object_file(path_, index_offset_, "bad index magic");
  std::string_view index_body = std::string_view(bytes).substr(0, bytes.size() - 8);
  if (hash(index_body) != get_u64(bytes.data() + bytes.size() - 8))
    throw_damaged_object_file(path_, index_offset_, "index checksum mismatch");
  std::uint64_t expected = header_end;  // blocks follow each other without gaps
  for (std::uint64_t i = 0; i < count; ++i) {
    const char* entry = bytes.data() + 4 + i * kIndexEntryBytes;
    std::uint64_t offset = get_u64(entry), records = get_u64(entry + 8);
    std::uint64_t end = i + 1 < count ? get_u64(entry + kIndexEntryBytes) : index_offset_;
    if (offset != expected || end < offset + kBlockHeaderBytes || end > index_offset_)
      throw_damaged_object_file(path_, index_offset_ + 4 + i * kIndexEntryBytes,
                    fmt::format("index entry {} puts a block at byte {}, which is not where block {} can start", i, offset, i));
    expected = end;
    if (offset >= split.begin && offset < split.end) {
      blocks_.emplace_back(offset, records);
      ends_.push_back(end);
    }
  }
  if (expected != index_offset_) throw_damaged_object_file(path_, header_end, "bytes between the header and the index that no block holds");
}

ObjectSplitReader::~ObjectSplitReader() = default;

void ObjectSplitReader::corrupt(std::uint64_t offset, std::string_view why) const { throw_damaged_object_file(path_, offset, why); }

bool ObjectSplitReader::next(std::string_view& records, std::uint64_t& count) {
  if (next_ == blocks_.size()) return false;
  auto [offset, expected_records] = blocks_[next_];
  std::uint64_t end = ends_[next_];
  ++next_;
  block_offset_ = offset;
  file_->read_at(offset, static_cast<std::size_t>(end - offset), block_);
  std::string_view block(block_);
  if (block.substr(0, 4) != kBlockMagic) corrupt(offset, "bad block magic (not the start of a block)");
  std::uint32_t block_records = get_u32(block.data() + 4);
  std::uint32_t chunk_bytes = get_u32(block.data() + 8);
  if (chunk_bytes != block.size() - kBlockHeaderBytes)
    corrupt(offset, fmt::format("the block header gives {} bytes of data where the index leaves {}",
                                chunk_bytes, block.size() - kBlockHeaderBytes));
  std::string_view chunk = block.substr(kBlockHeaderBytes);
  if (block_checksum(block.substr(0, 12), chunk) != get_u64(block.data() + 12)) corrupt(offset, "block checksum mismatch");
  if (block_records != expected_records)
    corrupt(offset, fmt::format("the block holds {} records where the index says {}", block_records, expected_records));
  try {
    records = decode_chunk(chunk, scratch_, offset + kBlockHeaderBytes);
  } catch (const corrupt_chunk& e) {
    corrupt(offset, e.what());
  }
  count = block_records;
  return true;
}

void ObjectSplitReader::throw_bad_records(std::string_view why) const {
  throw io_error(fmt::format(
      "object file '{}': the records of the block at byte {} do not decode as the type the file "
      "names ({}); was it written by a program with another definition of the type?",
      path_, block_offset_, why));
}

}  // namespace spate::detail
