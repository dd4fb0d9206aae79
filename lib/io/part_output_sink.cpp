// PartOutputSink on top of the OutputCommitter: the typed handlers' bridge to part files.
#include "io/compressed_part.hpp"
#include "io/part_file_writer.hpp"
#include "spate/detail/part_output_sink.hpp"

namespace spate::detail {

namespace {
class CommitterPart final : public PartOutputSink::Part {
 public:
  explicit CommitterPart(std::unique_ptr<PartWriter> w) : writer_(std::move(w)) {}
  void write_line(std::string_view line) override { writer_->write_line(line); }
  void write(std::string_view bytes) override { writer_->write(bytes); }
  void commit() override { writer_->commit(); }

 private:
  std::unique_ptr<PartWriter> writer_;  // aborts itself on destruction unless committed
};
}  // namespace

struct PartOutputSink::Impl {
  Impl(const std::string& dir, bool prepare) : committer(dir) {
    if (prepare) committer.prepare();
  }
  OutputCommitter committer;
};

PartOutputSink::PartOutputSink(const std::string& dir, bool prepare)
    : impl_(std::make_unique<Impl>(dir, prepare)) {}

const std::string& PartOutputSink::dir() const noexcept { return impl_->committer.dir(); }
PartOutputSink::~PartOutputSink() = default;

std::unique_ptr<PartOutputSink::Part> PartOutputSink::open_part(std::size_t partition, int attempt) {
  return std::make_unique<CommitterPart>(impl_->committer.open_part(partition, attempt));
}

std::unique_ptr<PartOutputSink::Part> PartOutputSink::open_part(std::size_t partition, int attempt,
                                                                const TextOutputOptions& options) {
  if (options.compression == Compression::none) return open_part(partition, attempt);
  auto writer = impl_->committer.open_part(partition, attempt, compressed_part_suffix(options.compression));
  return make_compressed_part(std::move(writer), options);
}

void PartOutputSink::finish() { impl_->committer.finish(); }
void PartOutputSink::abort() noexcept { impl_->committer.abort_job(); }
std::string PartOutputSink::part_name(std::size_t partition) { return OutputCommitter::part_name(partition); }

}  // namespace spate::detail
