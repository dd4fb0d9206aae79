// TextOutputSink on top of the OutputCommitter: the typed handler's bridge to part files.
#include "io/part_file_writer.hpp"
#include "spate/detail/text_output.hpp"

namespace spate::detail {

namespace {
class CommitterPart final : public TextOutputSink::Part {
 public:
  explicit CommitterPart(std::unique_ptr<PartWriter> w) : writer_(std::move(w)) {}
  void write_line(std::string_view line) override { writer_->write_line(line); }
  void commit() override { writer_->commit(); }

 private:
  std::unique_ptr<PartWriter> writer_;  // aborts itself on destruction unless committed
};
}  // namespace

struct TextOutputSink::Impl {
  Impl(const std::string& dir, bool prepare) : committer(dir) {
    if (prepare) committer.prepare();
  }
  OutputCommitter committer;
};

TextOutputSink::TextOutputSink(const std::string& dir, bool prepare)
    : impl_(std::make_unique<Impl>(dir, prepare)) {}

const std::string& TextOutputSink::dir() const noexcept { return impl_->committer.dir(); }
TextOutputSink::~TextOutputSink() = default;

std::unique_ptr<TextOutputSink::Part> TextOutputSink::open_part(std::size_t partition, int attempt) {
  return std::make_unique<CommitterPart>(impl_->committer.open_part(partition, attempt));
}

void TextOutputSink::finish() { impl_->committer.finish(); }
void TextOutputSink::abort() noexcept { impl_->committer.abort_job(); }

}  // namespace spate::detail
