// Fuzz target: the task deserialiser, i.e. what an executor does with a Launch's stage bytes
// (lib/cluster/executor.cpp): a map stage is read with GraphReader::shuffle(), a result stage
// with read_registered<ResultHandler>(); either rebuilds nodes through the operator registry.
//
// Input: one selector byte (even: map stage, odd: result stage), then the stage bytes.
// Checks, for any bytes:
// - decoding ends in a task or a spate::error, never anything else (and no sanitizer report);
// - a decoded task, written again with GraphWriter, decodes again (to its last byte) and writes
//   as many bytes again.
// Decoded tasks are not run: their shipped functions and file paths come from the bytes.
//
// The operator registry holds the types this binary instantiates, so LLVMFuzzerInitialize
// builds (without running them) the lineages of real jobs: the click-log jobs of CLICKLOG.md and
// jobs over every operator. Their stages, encoded as the driver encodes them, must decode to
// their last byte and be written again in as many bytes, or the target stops at once (a harness
// whose real inputs are refused fuzzes nothing). With SPATE_FUZZ_WRITE_SEEDS=DIR they are
// also written to DIR as seeds. The keys in them are this binary's type names, so the seeds in
// tests/fuzz/corpus go stale when the jobs here change: the short run in the test suite writes
// fresh ones next to them.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "spate/clicklog.hpp"
#include "spate/clicklog_generator.hpp"
#include "spate/clicklog_reader.hpp"
#include "spate/detail/run_partitions.hpp"
#include "spate/detail/text_output.hpp"
#include "spate/spate.hpp"

namespace {

namespace fs = std::filesystem;
namespace detail = spate::detail;
using spate_fuzz::fail;
using spate_fuzz::refused_or_done;

constexpr char kMapStage = 0;     // even
constexpr char kResultStage = 1;  // odd

// --- Building real stages ----------------------------------------------------------------------

class StageCollector {
 public:
  // The result stage of an action over `node` (a per-partition count, as count() runs) and the
  // map stages of every shuffle in its lineage.
  template <class T>
  void job(const std::shared_ptr<detail::Node<T>>& node) {
    auto count = [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n) {
      std::uint64_t records = 0;
      detail::for_each_record(tc, p, n, [&records](const T&) { ++records; });
      return records;
    };
    detail::PartitionResults<T, std::uint64_t, decltype(count)> counting(node, count);
    add(kResultStage, [&](detail::GraphWriter& g) { detail::write_registered(g, counting); });
    add_map_stages(*node);
  }

  // The stage of save_as_text_file over `node`, and its map stages (T must be printable).
  template <class T>
  void text_output(const std::shared_ptr<detail::Node<T>>& node) {
    // prepare = false: nothing is created on disk; the handler is only encoded.
    detail::TextOutputHandler<T, detail::TextFormat> text("/nonexistent/spate-fuzz-out", node,
                                                          detail::TextFormat{}, {}, false);
    add(kResultStage, [&](detail::GraphWriter& g) { detail::write_registered(g, text); });
    add_map_stages(*node);
  }

  const std::vector<std::string>& stages() const { return stages_; }

 private:
  void add(char kind, const std::function<void(detail::GraphWriter&)>& write) {
    spate::Writer w;
    w.write_bytes(&kind, 1);
    detail::GraphWriter g(w);
    write(g);
    stages_.push_back(std::move(w).take());
  }

  void add_map_stages(const detail::NodeBase& node) {
    if (!visited_.insert(&node).second) return;
    for (const auto& d : node.shuffle_dependencies()) {
      if (!shuffles_.insert(d->shuffle_id()).second) continue;
      add(kMapStage, [&](detail::GraphWriter& g) { g.shuffle(*d); });
      add_map_stages(*d->parent());
    }
    for (const auto& p : node.narrow_parents()) add_map_stages(*p);
  }

  std::vector<std::string> stages_;
  std::set<const detail::NodeBase*> visited_;
  std::set<int> shuffles_;
};

using Counts = std::array<std::int64_t, 3>;

// A plain function: it ships as its module and offset, not as bytes.
std::int64_t negate(std::int64_t x) { return -x; }

// The lineages of real jobs, built in a local context (sort_by_key and zip_with_index run small
// jobs of their own while they are built), then encoded.
std::vector<std::string> build_real_stages(const fs::path& dir) {
  const std::string clicks = (dir / "clicks.tsv").string();
  spate::ClickGenOptions gen;
  gen.rows = 200;
  gen.seed = 7;
  gen.users = 50;
  gen.bad_rate = 0.05;
  gen.out = clicks;
  spate::generate_clicks(gen);
  const std::string campaigns = spate::default_campaigns_path(clicks);

  spate::Options options;
  options.master = "local[1]";
  options.ui = false;
  options.progress = false;
  options.executor_memory = 64 << 20;
  spate::Context ctx(options);
  StageCollector out;

  // The click-log jobs J1-J5 (CLICKLOG.md), as spate-clicks builds them.
  auto log = spate::read_click_log(ctx, clicks, {.strict = false, .min_partitions = 2});
  auto add = [](Counts a, const Counts& b) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
    return a;
  };
  out.job(log.records()
              .map([](const spate::ClickView& c) {
                Counts n{};
                n[static_cast<std::size_t>(c.event)] = 1;
                return std::pair{c.campaign_id, n};
              })
              .reduce_by_key(add)
              .sort_by_key()
              .node());
  out.job(log.records()
              .map([](const spate::ClickView& c) {
                return std::pair{c.country, c.user_id};
              })
              .distinct()
              .map([](const std::pair<std::string, std::string>& cu) {
                return std::pair{cu.first, std::int64_t{1}};
              })
              .reduce_by_key(std::plus<>{})
              .node());
  using Campaign = std::pair<std::int64_t, std::pair<std::string, std::int64_t>>;
  auto dimension = ctx.text_file(campaigns, 1).flat_map([](std::string_view line) {
    spate::Campaign c;
    if (!spate::parse_campaign(line, c)) return std::optional<Campaign>{};
    return std::optional<Campaign>({c.campaign_id, {std::string(c.advertiser), c.budget_micros}});
  });
  auto spend =
      log.records()
          .filter([](const spate::ClickView& c) { return c.event == spate::Event::impression; })
          .map([](const spate::ClickView& c) {
            return std::pair{c.campaign_id, c.cost_micros};
          })
          .reduce_by_key(std::plus<>{});
  auto by_advertiser = spend.join(dimension)
                           .map([](const auto& r) {
                             return std::pair{r.second.second.first, r.second.first};
                           })
                           .reduce_by_key(std::plus<>{});
  auto budget =
      dimension.map([](const Campaign& c) { return c.second; }).reduce_by_key(std::plus<>{});
  out.job(budget.left_outer_join(by_advertiser).node());
  out.text_output(by_advertiser.node());
  out.job(log.records()
              .map([](const spate::ClickView& c) {
                return std::pair{c.user_id, c.ts};
              })
              .group_by_key()
              .node());
  out.job(log.records()
              .map([](const spate::ClickView& c) { return spate::Click::from(c); })
              .key_by([](const spate::Click& c) { return c.url; })
              .map_values([](const spate::Click& c) { return c.cost_micros; })
              .node());

  // Every other operator, over parallelized data.
  std::vector<std::int64_t> numbers;
  for (std::int64_t i = 0; i < 100; ++i) numbers.push_back(i * 7 % 31);
  auto xs = ctx.parallelize(numbers, 3);
  auto ys = ctx.parallelize(std::vector<std::string>{"a", "bb", "a", "ccc", "bb"}, 2);
  const std::int64_t offset = 5;  // a captured value, shipped in the function's bytes
  out.job(xs.map([offset](std::int64_t x) { return x + offset; })
              .filter([](std::int64_t x) { return x % 2 == 0; })
              .union_with(xs)
              .coalesce(2)
              .node());
  out.job(xs.sample(false, 0.5, 11).map(&negate).node());
  out.job(xs.sample(true, 1.5, 12).zip_with_index().node());
  out.job(xs.map_partitions([](std::size_t p, std::vector<std::int64_t> v) {
              v.push_back(static_cast<std::int64_t>(p));
              return v;
            }).node());
  auto pairs = xs.map([](std::int64_t x) { return std::pair{x % 5, x}; });
  out.text_output(pairs.node());
  out.job(pairs.aggregate_by_key(std::int64_t{0}, std::plus<>{}, std::plus<>{}).node());
  out.job(
      pairs.fold_by_key(std::int64_t{1}, [](std::int64_t a, std::int64_t b) { return a * b % 97; })
          .node());
  out.job(pairs.partition_by(spate::HashPartitioner(4))
              .map_values([](std::int64_t v) { return -v; })
              .node());
  out.job(pairs.flat_map_values([](std::int64_t v) {
                 return std::vector<std::int64_t>{v, v + 1};
               })
              .cogroup(ys.map([](const std::string& s) {
                return std::pair{std::int64_t(s.size()), s};
              }))
              .node());
  out.job(pairs.full_outer_join(pairs.map_values([](std::int64_t v) { return v * 2; })).node());
  out.job(pairs.right_outer_join(pairs).keys().repartition(3).node());
  out.job(ys.sort_by([](const std::string& s) { return s; }, false).distinct().node());
  out.job(ys.map([](const std::string& s) {
              return std::pair{s, 1L};
            })
              .sort_by_key(false, 2)
              .values()
              .node());
  return out.stages();
}

// --- Decoding -----------------------------------------------------------------------------------

// A stage as the executor decodes it, and as the driver would write it again.
struct Decoded {
  std::string encoded;    // selector byte included
  bool read_all = false;  // every input byte was read (the executor does not insist)
};

// Decodes a stage as the executor does and writes it again as the driver would; nullopt when the
// bytes are refused with a spate::error (whose message goes to `why_refused` when given).
std::optional<Decoded> decode_and_encode(std::string_view input,
                                         std::string* why_refused = nullptr) {
  if (input.empty()) return std::nullopt;
  const bool map_stage = (static_cast<unsigned char>(input[0]) & 1) == 0;
  std::optional<Decoded> out;
  const auto decode = [&] {
    spate::Reader in(input.substr(1));
    detail::GraphReader g(in);
    spate::Writer w;
    const char kind = map_stage ? kMapStage : kResultStage;
    w.write_bytes(&kind, 1);
    detail::GraphWriter again(w);
    if (map_stage) {
      auto dep = g.shuffle();
      again.shuffle(*dep);
    } else {
      auto handler = detail::read_registered<detail::ResultHandler>(g, detail::TypeKind::handler);
      detail::write_registered(again, *handler);
    }
    out = Decoded{std::move(w).take(), in.at_end()};
  };
  if (why_refused == nullptr) {
    refused_or_done(decode);
  } else {
    try {
      decode();
    } catch (const spate::error& e) {
      *why_refused = e.what();
    }
  }
  return out;
}

// What must hold of a stage that decoded: written again, it decodes again, to the end, and
// writes the same number of bytes. (Not the same bytes: a function object's bytes include its
// padding, and an empty closure is one byte of nothing, which copies need not preserve.)
void check_rewritten(const Decoded& once, const std::string& what) {
  auto twice = decode_and_encode(once.encoded);
  if (!twice) fail(what + ", written again, is refused by GraphReader");
  if (!twice->read_all) fail(what + ", written again, is not read to its end");
  if (twice->encoded.size() != once.encoded.size())
    fail(what + " is written again in " + std::to_string(twice->encoded.size()) + " bytes, not " +
         std::to_string(once.encoded.size()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string pattern = (fs::temp_directory_path() / "spate-fuzz-task-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
  std::vector<std::string> stages;
  try {
    stages = build_real_stages(pattern);
  } catch (const std::exception& e) {
    fail(std::string("building the real jobs failed: ") + e.what());
  }
  fs::remove_all(pattern);
  // The harness is only as good as its stages: each must decode and re-encode to itself.
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string what = "real stage " + std::to_string(i);
    std::string why;
    auto once = decode_and_encode(stages[i], &why);
    if (!once) fail(what + " is refused by GraphReader: " + why);
    if (!once->read_all) fail(what + " is not read to its end");
    if (once->encoded.size() != stages[i].size()) fail(what + " is written again in another size");
    check_rewritten(*once, what);
  }
  spate_fuzz::write_seeds_if_asked("stage", stages);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto once = decode_and_encode(input)) check_rewritten(*once, "a decoded stage");
  return 0;
}
