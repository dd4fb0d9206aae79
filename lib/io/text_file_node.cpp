// TextFileNode: a Node<std::string_view> over planned splits, read with LineReader.
#include "spate/detail/text_file_node.hpp"

#include <algorithm>
#include <vector>

#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "io/split_codec.hpp"

namespace spate::detail {

namespace {

class TextFileNode final : public Node<std::string_view>,
                           private Registered<TextFileNode, TypeKind::node> {
 public:
  TextFileNode(std::uint64_t id, std::vector<InputSplit> splits)
      : Node<std::string_view>(id, "text_file", splits.size()), splits_(std::move(splits)) {}

  const char* type_key() const noexcept override { return registered_key(); }
  void save(GraphWriter& w) const override { save_splits(w.out(), splits_); }
  static std::shared_ptr<TextFileNode> load(GraphReader& r, const NodeHeader& h) {
    return std::make_shared<TextFileNode>(h.id, load_splits(r.in()));
  }

 protected:
  void compute(TaskContext& tc, std::size_t p, Emit<std::string_view> out) override {
    const InputSplit& split = splits_[p];
    LineReader reader(split);
    std::string_view line;
    std::uint64_t records = 0;
    while (reader.next(line)) {
      if (records++ % kRecordsBetweenChecks == 0) tc.check_killed();
      out(std::move(line));
    }
    tc.add_counter("input.records", records);
    tc.add_counter("input.bytes", split.end - split.begin);
  }

 private:
  std::vector<InputSplit> splits_;
};

}  // namespace

std::shared_ptr<Node<std::string_view>> make_text_file_node(std::uint64_t id, const std::string& path,
                                                           std::size_t min_partitions) {
  std::vector<InputFile> files = list_input_files(path);
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  const std::uint64_t target = split_target(total, min_partitions);
  return std::make_shared<TextFileNode>(id, plan_splits(files, target));
}

}  // namespace spate::detail
