// Object files: save_as_object_file's parts, records in spate's binary encoding, and the reader
// that Context::object_file's splits use. Compiled once in lib/io/object_file_*.cpp.
//
// A part file, all integers little-endian:
//
//   header   "SPATEOBJ", version u32 (1), type name length u32, the record type's name (its
//            typeid name), XXH3-64 u64 of the header's bytes before it
//   blocks   each: "SPOB", record count u32, chunk length u32, XXH3-64 u64 of the chunk seeded
//            with the XXH3-64 of the block's first 12 bytes, then the chunk (block_codec.hpp:
//            about 1 MiB of serialized records, compressed by the shuffle codec, with a checksum
//            of its own)
//   index    "SPIX", per block its offset u64 and record count u64, XXH3-64 u64 of the index's
//            bytes before it
//   trailer  the index's offset u64, the block count u64, "SPATEEND"
//
// Splittable by a footer index rather than SequenceFile's sync markers: a part is written once
// and committed whole, so the index is always there; a split reads it and takes exactly the
// blocks that start inside its byte range, with no scan for a marker and no chance of a marker
// appearing in data. A file cut short loses its trailer and is refused before a record is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "spate/detail/block_codec.hpp"
#include "spate/detail/part_output_sink.hpp"
#include "spate/serialization.hpp"

namespace spate::detail {

/// Raw bytes of serialized records gathered into one block before it is written.
inline constexpr std::size_t kObjectBlockBytes = std::size_t{1} << 20;

/// Writes one part: the header when constructed, blocks as they fill, the index at finish().
/// Not thread-safe; one writer belongs to one task.
class ObjectFileWriter {
 public:
  /// Writes the header naming `type_name` into `part`, which must outlive the writer.
  ObjectFileWriter(PartOutputSink::Part& part, std::string_view type_name, Codec codec);
  /// Writes `count` serialized records, `records`, as one block (nothing for count 0).
  void add_block(std::string_view records, std::uint64_t count);
  /// Writes the index and trailer; the part is then whole, ready to commit.
  void finish();
  /// Bytes written to the part so far.
  std::uint64_t bytes_written() const noexcept { return offset_; }

 private:
  void put(std::string_view bytes);

  PartOutputSink::Part& part_;
  Codec codec_;
  std::uint64_t offset_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> index_;  // block offset, record count
  std::string chunk_;
};

class ObjectFileBytes;  // lib/io/object_file_bytes.hpp

/// The bytes [begin, end) of one object file that one task reads: the blocks that start there.
/// file_size, file_mtime_ns and (for an s3:// object) etag are as seen at planning; a reader
/// fails if the file differs.
struct ObjectFileSplit {
  std::string path;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t file_size = 0;
  std::optional<std::int64_t> file_mtime_ns;
  std::string etag;
};

/// Lists the files of `path` (file, directory or glob, local or s3://, as text_file does), checks that each is
/// an object file of records of type `type_name` (its header, on the driver, before any task),
/// and cuts them into byte ranges: at least `min_partitions` in all, at most 64 MiB each.
/// Throws io_error naming the file for a file that is not an object file, is cut short, or
/// holds records of another type (naming both types).
std::vector<ObjectFileSplit> plan_object_file_splits(const std::string& path,
                                                     std::size_t min_partitions,
                                                     std::string_view type_name);

/// Writes splits into task state.
void save_object_file_splits(Writer& w, const std::vector<ObjectFileSplit>& splits);
/// Reads splits written by save_object_file_splits; throws serialization_error when malformed.
std::vector<ObjectFileSplit> load_object_file_splits(Reader& r);

/// Reads the blocks of one split, in file order, each checked against its checksum. Every
/// problem (a file changed since planning, another record type, a bad magic, a checksum
/// mismatch, a file cut short) throws io_error naming the file and the byte offset where it is.
/// Not thread-safe; one reader per task.
class ObjectSplitReader {
 public:
  /// Opens the split's file and reads its header and index.
  ObjectSplitReader(const ObjectFileSplit& split, std::string_view type_name);
  ~ObjectSplitReader();
  ObjectSplitReader(const ObjectSplitReader&) = delete;
  ObjectSplitReader& operator=(const ObjectSplitReader&) = delete;

  /// Sets `records` to the serialized records of the split's next block (valid until the next
  /// call) and `count` to how many there are; false after the last block.
  bool next(std::string_view& records, std::uint64_t& count);
  /// Throws io_error: the records of the block last returned do not decode (`why`), naming the
  /// file and the block's offset.
  [[noreturn]] void throw_bad_records(std::string_view why) const;
  /// The file being read.
  const std::string& path() const noexcept { return path_; }

 private:
  [[noreturn]] void corrupt(std::uint64_t offset, std::string_view why) const;

  std::string path_;
  std::unique_ptr<ObjectFileBytes> file_;
  std::uint64_t size_ = 0;
  std::uint64_t index_offset_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> blocks_;  // of this split: offset, records
  std::vector<std::uint64_t> ends_;                              // where each of blocks_ must end
  std::size_t next_ = 0;
  std::uint64_t block_offset_ = 0;  // of the block last returned
  std::string block_;
  std::string scratch_;
};

/// The identity of a record type in an object file's header: its typeid name, the same in
/// every process built from the same sources.
template <class R>
std::string_view object_type_name() noexcept {
  return typeid(R).name();
}

}  // namespace spate::detail
