// The click-log source node: lines of planned splits, parsed in the same pass.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "clicklog/click_block_parse.hpp"
#include "clicklog/line_scan.hpp"
#include "io/input_files.hpp"
#include "io/input_split.hpp"
#include "io/line_reader.hpp"
#include "io/split_codec.hpp"
#include "spate/clicklog_reader.hpp"

namespace spate {

namespace {

/// Bytes read from the file per block: a block is parsed while it is still in the second-level
/// cache.
constexpr std::size_t kReadBytes = 256 << 10;
static_assert(detail::LineReader::kBlockPadding >= detail::kClickBlockOverread);

class ClickLogNode final : public detail::Node<ClickView>,
                           private detail::Registered<ClickLogNode, detail::TypeKind::node> {
 public:
  ClickLogNode(std::uint64_t id, std::vector<detail::InputSplit> splits, bool strict, std::string counter)
      : detail::Node<ClickView>(id, "read_click_log", splits.size()),
        splits_(std::move(splits)),
        strict_(strict),
        counter_(std::move(counter)) {}

  const char* type_key() const noexcept override { return registered_key(); }
  void save(detail::GraphWriter& w) const override {
    detail::save_splits(w.out(), splits_);
    serialize_to(w.out(), strict_);
    serialize_to(w.out(), counter_);
  }
  static std::shared_ptr<ClickLogNode> load(detail::GraphReader& r, const detail::NodeHeader& h) {
    auto splits = detail::load_splits(r.in());
    bool strict = deserialize_from<bool>(r.in());
    return std::make_shared<ClickLogNode>(h.id, std::move(splits), strict,
                                          deserialize_from<std::string>(r.in()));
  }

 protected:
  void compute(detail::TaskContext& tc, std::size_t p, detail::Emit<ClickView> out) override {
    const detail::InputSplit& split = splits_[p];
    detail::LineReader reader(split);
    const detail::ScanIsa isa = detail::best_scan_isa();
    detail::LineBlock block;
    std::uint64_t lines = 0, bad = 0;
    while (reader.next_block(block, kReadBytes)) {
      tc.check_killed();
      const char* begin = block.begin;
      if (block.offset == 0) {  // the file's header line
        begin = static_cast<const char*>(std::memchr(begin, '\n', block.end - begin)) + 1;
        ++lines;
      }
      lines += detail::parse_click_block(
          isa, begin, block.end,
          [&](ClickView&& click, const char*) { out(std::move(click)); },
          [&](std::string_view line, const char* at) {
            if (strict_) {
              ClickView ignored;
              fail(split, block.offset + static_cast<std::uint64_t>(at - block.begin),
                   parse_click(line, ignored), line);
            }
            ++bad;
          });
    }
    tc.add_counter("input.records", lines);
    tc.add_counter("input.bytes", split.end - split.begin);
    tc.add_counter(counter_, bad);
  }

 private:
  [[noreturn]] static void fail(const detail::InputSplit& split, std::uint64_t offset,
                                const ClickParse& r, std::string_view line) {
    constexpr std::size_t kShown = 200;
    throw input_error(fmt::format("{}:{}: malformed click-log line (byte offset {}): {}: \"{}{}\"",
                                  split.path, detail::line_number_at(split, offset), offset,
                                  describe(r), shown_text(line.substr(0, kShown)),
                                  line.size() > kShown ? "..." : ""));
  }

  /// The bytes as a message shows them: a tab as a space, valid UTF-8 as it is, and
  /// control bytes, bytes of invalid UTF-8 and '\\' escaped as \xNN and \\. A raw NUL
  /// would end the message wherever it is read as a C string (what(), a terminal).
  static std::string shown_text(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    while (!bytes.empty()) {
      std::size_t valid = detail::first_invalid_utf8(bytes.data(), bytes.size());
      for (char c : bytes.substr(0, valid)) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\t') {
          out += ' ';
        } else if (c == '\\') {
          out += "\\\\";
        } else if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\x{:02x}", u);
        } else {
          out += c;
        }
      }
      if (valid == bytes.size()) break;
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(bytes[valid]));
      bytes.remove_prefix(valid + 1);
    }
    return out;
  }

  std::vector<detail::InputSplit> splits_;
  bool strict_;
  std::string counter_;
};

}  // namespace

ClickLog read_click_log(const Context& ctx, const std::string& path, ClickLogOptions options) {
  auto files = detail::list_input_files(path);
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  std::uint64_t parts = options.min_partitions ? options.min_partitions : ctx.default_parallelism();
  const std::uint64_t target = detail::split_target(total, parts);
  auto engine = ctx.engine();
  std::uint64_t id = engine->next_node_id();
  std::string counter = fmt::format("read_click_log/{}/malformed_lines", id);
  auto node = std::make_shared<ClickLogNode>(id, detail::plan_splits(files, target), options.strict,
                                             counter);
  return ClickLog(Dataset<ClickView>(detail::DatasetCore<ClickView, void>{engine, node}), engine,
                  counter);
}

}  // namespace spate
