// PartOutputSink over an OutputTarget: the OutputCommitter's directory, or an S3 prefix.
#include "spate/detail/part_output_sink.hpp"

#include <fmt/format.h>

#include "io/compressed_part.hpp"
#include "io/output_target.hpp"
#include "io/part_file_writer.hpp"
#include "s3/s3_config.hpp"

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

/// A local directory: parts are committed by rename in the task, so there are no receipts.
class DirectoryTarget final : public OutputTarget {
 public:
  DirectoryTarget(const std::string& dir, bool prepare) : committer_(dir) {
    if (prepare) committer_.prepare();
  }
  const std::string& dir() const noexcept override { return committer_.dir(); }
  std::unique_ptr<PartOutputSink::Part> open_part(std::size_t partition, int attempt,
                                                  std::string_view suffix) override {
    return std::make_unique<CommitterPart>(committer_.open_part(partition, attempt, suffix));
  }
  std::string receipt(std::size_t) const override { return ""; }
  bool accept(std::size_t, const std::string&) override { return true; }
  // Each task published its part by a rename before it reported success.
  void finish(std::size_t /*partitions*/) override { committer_.finish(); }
  void abort() noexcept override { committer_.abort_job(); }

 private:
  OutputCommitter committer_;
};

}  // namespace

struct PartOutputSink::Impl {
  std::unique_ptr<OutputTarget> target;
};

PartOutputSink::PartOutputSink(const std::string& dir, bool prepare)
    : impl_(std::make_unique<Impl>()) {
  if (is_s3_uri(dir)) {
    impl_->target = make_s3_output_target(dir, prepare);
  } else {
    impl_->target = std::make_unique<DirectoryTarget>(dir, prepare);
  }
}

const std::string& PartOutputSink::dir() const noexcept { return impl_->target->dir(); }
PartOutputSink::~PartOutputSink() = default;

std::unique_ptr<PartOutputSink::Part> PartOutputSink::open_part(std::size_t partition, int attempt) {
  return impl_->target->open_part(partition, attempt, "");
}

std::unique_ptr<PartOutputSink::Part> PartOutputSink::open_part(std::size_t partition, int attempt,
                                                                const TextOutputOptions& options) {
  if (options.compression == Compression::none) return open_part(partition, attempt);
  std::string_view suffix = compressed_part_suffix(options.compression);
  return make_compressed_part(impl_->target->open_part(partition, attempt, suffix),
                              fmt::format("{} part {}{}", dir(), part_name(partition), suffix), options);
}

std::string PartOutputSink::receipt(std::size_t partition) const {
  return impl_->target->receipt(partition);
}
bool PartOutputSink::accept(std::size_t partition, const std::string& receipt) {
  return impl_->target->accept(partition, receipt);
}
void PartOutputSink::finish(std::size_t partitions) { impl_->target->finish(partitions); }
void PartOutputSink::abort() noexcept { impl_->target->abort(); }
std::string PartOutputSink::part_name(std::size_t partition) { return OutputCommitter::part_name(partition); }

}  // namespace spate::detail
