// Context: flag and environment parsing, and the engine it starts.
#include "spate/context.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <thread>

#include "spate/error.hpp"

namespace spate {

namespace {

std::size_t hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::optional<std::size_t> parse_count(std::string_view s) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

// Task threads for a master URL; throws config_error naming what is allowed.
std::size_t threads_for(const std::string& master) {
  if (master == "local") return 1;
  if (master.starts_with("local[") && master.ends_with("]")) {
    std::string_view n(master.data() + 6, master.size() - 7);
    if (n == "*") return hardware_threads();
    if (auto v = parse_count(n)) return *v;
  }
  if (master.starts_with("local-cluster[") || master.starts_with("spate://"))
    throw config_error(fmt::format(
        "--master {}: executor processes are not available in this build yet; use local, "
        "local[N] or local[*]",
        master));
  throw config_error(fmt::format(
      "--master {}: not a master URL; use local, local[N] (N >= 1) or local[*]", master));
}

detail::EngineConfig engine_config(const Options& o) {
  if (o.task_attempts < 1)
    throw config_error(fmt::format("--task-attempts {}: must be at least 1", o.task_attempts));
  detail::EngineConfig c;
  c.master = o.master;
  c.threads = threads_for(o.master);
  c.max_task_attempts = o.task_attempts;
  return c;
}

Options options_from_environment() {
  Options o;
  if (const char* m = std::getenv("SPATE_MASTER"); m != nullptr && *m != '\0') o.master = m;
  return o;
}

}  // namespace

Context::Context() : Context(options_from_environment()) {}

Context::Context(Options options)
    : engine_(std::make_shared<detail::Engine>(engine_config(options))), args_{"spate"} {}

Context::Context(int argc, const char* const* argv) {
  Options o = options_from_environment();
  std::vector<std::string> rest;
  if (argc > 0 && argv != nullptr) rest.emplace_back(argv[0]);
  // Recognises "--name value" and "--name=value"; returns the value when argv[i] is that flag.
  auto flag = [&](int& i, std::string_view name) -> std::optional<std::string> {
    std::string_view a = argv[i];
    if (a == name) {
      if (i + 1 >= argc) throw config_error(fmt::format("{} needs a value", name));
      return std::string(argv[++i]);
    }
    if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=')
      return std::string(a.substr(name.size() + 1));
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    if (auto v = flag(i, "--master")) {
      o.master = *v;
    } else if (auto t = flag(i, "--task-attempts")) {
      auto n = parse_count(*t);
      if (!n || *n > 1000)
        throw config_error(fmt::format("--task-attempts {}: must be a number from 1 to 1000", *t));
      o.task_attempts = static_cast<int>(*n);
    } else {
      rest.emplace_back(argv[i]);
    }
  }
  engine_ = std::make_shared<detail::Engine>(engine_config(o));
  args_ = std::move(rest);
}

Dataset<std::string_view> Context::text_file(const std::string& path,
                                             std::size_t min_partitions) const {
  std::size_t n = min_partitions ? min_partitions : default_parallelism();
  return Dataset<std::string_view>(detail::DatasetCore<std::string_view, void>{
      engine_, detail::make_text_file_node(engine_->next_node_id(), path, n)});
}

}  // namespace spate
