// Text output for save_as_text_file: record formatting and the job handler that writes parts.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "spate/detail/engine.hpp"
#include "spate/detail/narrow_ops.hpp"
#include "spate/detail/node.hpp"
#include "spate/detail/part_output_sink.hpp"
#include "spate/detail/state_codec.hpp"
#include "spate/error.hpp"
#include "spate/text_escape.hpp"
#include "spate/text_output_options.hpp"

namespace spate::detail {

/// Appends the text form of x: strings escaped (spate/text_escape.hpp), numbers in decimal,
/// pairs and tuples as tab-separated fields, an empty optional as an empty field, anything else
/// through fmt, escaped. So the only raw tabs are between fields, and there is no raw newline.
template <class X>
void append_text(std::string& out, const X& x) {
  if constexpr (std::is_convertible_v<const X&, std::string_view>) {
    append_escaped_text_field(out, std::string_view(x));
  } else if constexpr (std::is_same_v<X, bool>) {
    out += x ? "true" : "false";
  } else if constexpr (std::is_same_v<X, char>) {
    append_escaped_text_field(out, std::string_view(&x, 1));
  } else if constexpr (std::is_arithmetic_v<X>) {
    fmt::format_to(std::back_inserter(out), "{}", x);
  } else if constexpr (is_optional<X>::value) {
    if (x) append_text(out, *x);
  } else if constexpr (requires { std::tuple_size<X>::value; }) {
    std::apply(
        [&out](const auto&... v) {
          bool first = true;
          ((out += (first ? "" : "\t"), first = false, append_text(out, v)), ...);
        },
        x);
  } else {
    append_escaped_text_field(out, fmt::format("{}", x));
  }
}

/// The default line format of save_as_text_file: append_text, which never writes a newline.
struct TextFormat {
  template <class X>
  std::string operator()(const X& x) const {
    std::string s;
    append_text(s, x);
    return s;
  }
};

/// Throws spate::error: a user's format function returned a line holding a newline, which would
/// read back as two records. Compiled once in lib/io/text_output.cpp.
[[noreturn]] void throw_newline_in_formatted_record(const std::string& dir, std::size_t partition,
                                                    std::uint64_t record);

/// Throws config_error on the driver, before any task, for a compression level out of range.
void check_text_output_options(const TextOutputOptions& options);

/// The job handler of save_as_text_file: each task writes and commits its partition's part,
/// compressed as the options say. A line from a user's format function that holds a newline
/// fails the task (the default format escapes newlines, so it needs no check).
template <class T, class F>
class TextOutputHandler final : public ResultHandler,
                                private Registered<TextOutputHandler<T, F>, TypeKind::handler> {
  using Reg = Registered<TextOutputHandler, TypeKind::handler>;

 public:
  TextOutputHandler(const std::string& dir, std::shared_ptr<Node<T>> node, F format,
                    TextOutputOptions options = {}, bool prepare = true)
      : sink_(dir, prepare), node_(std::move(node)), format_(std::move(format)), options_(options) {}

  const char* type_key() const noexcept override { return Reg::registered_key(); }
  void save(GraphWriter& w) const override {
    serialize_to(w.out(), sink_.dir());
    w.node(node_);
    save_state(w.out(), format_);
    serialize_to(w.out(), std::pair(static_cast<std::uint8_t>(options_.compression),
                                    static_cast<std::int32_t>(options_.level)));
  }
  static std::shared_ptr<TextOutputHandler> load(GraphReader& r, const NodeHeader&) {
    auto dir = deserialize_from<std::string>(r.in());
    auto node = r.node_of<T>();
    auto format = load_state<F>(r.in());
    auto [compression, level] = deserialize_from<std::pair<std::uint8_t, std::int32_t>>(r.in());
    if (compression > static_cast<std::uint8_t>(Compression::zstd))
      throw serialization_error("malformed text output options: unknown compression");
    TextOutputOptions options{static_cast<Compression>(compression), level};
    return std::make_shared<TextOutputHandler>(dir, std::move(node), std::move(format), options,
                                               false);
  }
  // What the driver needs to publish the part: nothing for a local directory (the task renamed
  // it), the open multipart upload for S3.
  void save_result(std::size_t p, Writer& w) const override { serialize_to(w, sink_.receipt(p)); }
  void load_result(std::size_t p, Reader& r) override {
    sink_.accept(p, deserialize_from<std::string>(r));
  }

  std::size_t num_partitions() const noexcept override { return node_->num_partitions(); }
  void run_task(TaskContext& tc, std::size_t p) override {
    // Before a part file is opened for a partition that does not exist.
    if (p >= node_->num_partitions()) node_->throw_no_such_partition(p);
    F format = format_;
    auto part = sink_.open_part(p, tc.attempt(), options_);
    std::uint64_t records = 0, bytes = 0;
    auto line = [&](T&& x) {
      auto text = format(std::as_const(x));
      std::string_view view(text);
      if constexpr (!std::is_same_v<F, TextFormat>) {
        if (view.find('\n') != std::string_view::npos)
          throw_newline_in_formatted_record(sink_.dir(), p, records);
      }
      ++records;
      bytes += view.size() + 1;
      part->write_line(view);
    };
    node_->iterate(tc, p, Emit<T>(line));
    part->commit();
    tc.add_counter("output.records", records);
    tc.add_counter("output.bytes", bytes);
  }
  void job_succeeded() override { sink_.finish(num_partitions()); }
  void job_failed() noexcept override { sink_.abort(); }

 private:
  PartOutputSink sink_;
  std::shared_ptr<Node<T>> node_;
  F format_;
  TextOutputOptions options_;
};

}  // namespace spate::detail
