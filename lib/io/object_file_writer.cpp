// ObjectFileWriter: a part of save_as_object_file, header, blocks and index.
#include <fmt/format.h>

#include <limits>

#include "io/object_file_layout.hpp"
#include "spate/detail/object_file_format.hpp"
#include "spate/error.hpp"

namespace spate::detail {

using namespace object_file;

ObjectFileWriter::ObjectFileWriter(PartOutputSink::Part& part, std::string_view type_name, Codec codec)
    : part_(part), codec_(codec) {
  std::string header(kFileMagic);
  put_u32(header, kVersion);
  put_u32(header, static_cast<std::uint32_t>(type_name.size()));
  header += type_name;
  put_u64(header, hash(header));
  put(header);
}

void ObjectFileWriter::put(std::string_view bytes) {
  part_.write(bytes);
  offset_ += bytes.size();
}

void ObjectFileWriter::add_block(std::string_view records, std::uint64_t count) {
  if (count == 0) return;
  chunk_.clear();
  append_chunk(chunk_, records, codec_);
  // One record of 4 GiB would be needed to get here: the block's lengths are 32 bits.
  if (chunk_.size() > std::numeric_limits<std::uint32_t>::max() ||
      count > std::numeric_limits<std::uint32_t>::max())
    throw io_error(fmt::format("save_as_object_file: a block of {} records and {} bytes is too "
                               "large for the object file format (at most 4 GiB)",
                               count, chunk_.size()));
  std::string head(kBlockMagic);
  put_u32(head, static_cast<std::uint32_t>(count));
  put_u32(head, static_cast<std::uint32_t>(chunk_.size()));
  put_u64(head, block_checksum(head, chunk_));
  index_.emplace_back(offset_, count);
  put(head);
  put(chunk_);
}

void ObjectFileWriter::finish() {
  std::uint64_t index_offset = offset_;
  std::string index(kIndexMagic);
  for (auto [offset, count] : index_) {
    put_u64(index, offset);
    put_u64(index, count);
  }
  put_u64(index, hash(index));
  put_u64(index, index_offset);
  put_u64(index, index_.size());
  index += kEndMagic;
  put(index);
}

}  // namespace spate::detail
