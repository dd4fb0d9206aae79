// Context: flag and environment parsing, and the engine it starts.
#include "spate/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <thread>

#include "cluster/executor.hpp"
#include "context_flags.hpp"
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
  if (master.starts_with("local-cluster[") && master.ends_with("]")) return 1;  // checked later
  if (master.starts_with("spate://")) {
    detail::parse_spate_url(master);
    return 1;
  }
  throw config_error(fmt::format(
      "--master {}: not a master URL; use local, local[N] (N >= 1), local[*], local-cluster[N], "
      "local-cluster[N,CORES] or spate://HOST:PORT",
      master));
}

// "4g", "512m", "1048576": bytes, with an optional binary suffix.
std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back() | 0x20) {
      case 'k': mult = 1ULL << 10; break;
      case 'm': mult = 1ULL << 20; break;
      case 'g': mult = 1ULL << 30; break;
      case 't': mult = 1ULL << 40; break;
      default: break;
    }
    if (mult != 1) s.remove_suffix(1);
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > (~0ULL) / mult) return std::nullopt;
  return v * mult;
}

std::uint64_t size_flag(std::string_view name, const std::string& value) {
  auto v = parse_size(value);
  if (!v || *v < (1ULL << 20))
    throw config_error(fmt::format("{} {}: must be a size of at least 1m, in bytes or with a k, m, g "
                                   "or t suffix (512m, 4g)",
                                   name, value));
  return *v;
}

detail::EngineConfig engine_config(const Options& o) {
  if (o.task_attempts < 1)
    throw config_error(fmt::format("--task-attempts {}: must be at least 1", o.task_attempts));
  detail::EngineConfig c;
  c.master = o.master;
  c.threads = threads_for(o.master);
  c.max_task_attempts = o.task_attempts;
  c.min_executors = o.min_executors;
  c.executor_wait = o.executor_wait;
  if (o.heartbeat_timeout < std::chrono::milliseconds(100))
    throw config_error(fmt::format("--heartbeat-timeout: must be at least 0.1 s, not {} ms",
                                   o.heartbeat_timeout.count()));
  c.heartbeat_timeout = o.heartbeat_timeout;
  c.heartbeat_interval = std::clamp(o.heartbeat_timeout / 10, std::chrono::milliseconds(10),
                                    std::chrono::milliseconds(1000));
  c.memory_budget = o.executor_memory;
  if (!o.shuffle_compression.empty()) {
    c.shuffle_compression = detail::parse_codec(o.shuffle_compression);
    if (!c.shuffle_compression)
      throw config_error(fmt::format("--shuffle-compression {}: must be lz4, zstd or none", o.shuffle_compression));
  }
  c.print_metrics = o.print_metrics;
  if (o.scheduler_mode != "FIFO" && o.scheduler_mode != "FAIR")
    throw config_error(fmt::format("--scheduler-mode {}: must be FIFO or FAIR", o.scheduler_mode));
  c.fair_scheduler = o.scheduler_mode == "FAIR";
  c.speculation = o.speculation;
  c.max_executor_restarts = o.executor_restarts;
  c.event_log_dir = o.event_log_dir;
  c.checkpoint_dir = o.checkpoint_dir;
  c.progress = o.progress;
  c.ui = o.ui;
  c.ui_host = o.ui_host;
  if (o.ui && (o.ui_port < 0 || o.ui_port > 65535))
    throw config_error(fmt::format("--ui-port {}: must be a port from 0 (any free port) to 65535", o.ui_port));
  c.ui_port = o.ui_port;
  return c;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

Options options_from_environment() {
  Options o;
  if (const char* m = env("SPATE_MASTER")) o.master = m;
  return o;
}

// An executor started by a local-cluster driver learns its role from the environment, so a
// program that builds its Context without argv still becomes an executor there.
[[noreturn]] void become_executor(detail::ExecutorOptions e) { detail::run_executor(e); }

}  // namespace

void serve_if_executor(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--executor" || std::string_view(argv[i]).starts_with("--executor=")) {
      Context ctx(argc, argv);  // becomes the executor; never returns
    }
  serve_if_executor();
}

void serve_if_executor() {
  const char* url = env("SPATE_EXECUTOR");
  if (url == nullptr) return;
  detail::ExecutorOptions e;
  e.driver_url = url;
  if (const char* id = env("SPATE_EXECUTOR_ID")) e.id = id;
  if (const char* c = env("SPATE_EXECUTOR_CORES")) e.cores = parse_count(c).value_or(1);
  if (const char* h = env("SPATE_EXECUTOR_HOST")) e.host = h;
  if (const char* m = env("SPATE_EXECUTOR_MEMORY")) e.memory = parse_size(m).value_or(0);
  become_executor(e);
}

namespace {
// Every constructor starts here: an executor process must not build a driver's engine.
std::shared_ptr<detail::Engine> make_engine(const Options& o) {
  serve_if_executor();
  return std::make_shared<detail::Engine>(engine_config(o));
}
}  // namespace

Context::Context() : Context(options_from_environment()) {}

Context::Context(Options options) : engine_(make_engine(options)), args_{"spate"} {}

Context::Context(int argc, const char* const* argv) {
  serve_if_executor();
  Options o = options_from_environment();
  detail::ExecutorOptions executor;
  detail::SplitCommandLine split = detail::split_context_flags(argc, argv);
  for (const auto& [name, value] : split.flags) {
    if (name == "--master") {
      o.master = value;
    } else if (name == "--task-attempts") {
      auto n = parse_count(value);
      if (!n || *n > 1000)
        throw config_error(fmt::format("--task-attempts {}: must be a number from 1 to 1000", value));
      o.task_attempts = static_cast<int>(*n);
    } else if (name == "--min-executors") {
      auto n = parse_count(value);
      if (!n) throw config_error(fmt::format("--min-executors {}: must be a number >= 1", value));
      o.min_executors = *n;
    } else if (name == "--executor-wait") {
      auto n = parse_count(value);
      if (!n) throw config_error(fmt::format("--executor-wait {}: must be seconds >= 1", value));
      o.executor_wait = std::chrono::seconds(*n);
    } else if (name == "--heartbeat-timeout") {
      double secs = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
      if (ec != std::errc{} || p != value.data() + value.size() || !(secs >= 0.1) || secs > 86400)
        throw config_error(fmt::format("--heartbeat-timeout {}: must be seconds from 0.1 to 86400", value));
      o.heartbeat_timeout = std::chrono::milliseconds(static_cast<long>(secs * 1000));
    } else if (name == "--executor-memory") {
      o.executor_memory = size_flag("--executor-memory", value);
      executor.memory = o.executor_memory;
    } else if (name == "--shuffle-compression") {
      o.shuffle_compression = value;
    } else if (name == "--executor-restarts") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || n > 10000)
        throw config_error(fmt::format("--executor-restarts {}: must be a number from 0 to 10000", value));
      o.executor_restarts = n;
    } else if (name == "--scheduler-mode") {
      o.scheduler_mode = value;
    } else if (name == "--speculation") {
      o.speculation = true;
    } else if (name == "--metrics") {
      o.print_metrics = true;
    } else if (name == "--checkpoint-dir") {
      if (value.empty()) throw config_error("--checkpoint-dir: needs a directory");
      o.checkpoint_dir = value;
    } else if (name == "--event-log") {
      if (value.empty()) throw config_error("--event-log: needs a directory");
      o.event_log_dir = value;
    } else if (name == "--no-progress") {
      o.progress = false;
    } else if (name == "--no-ui") {
      o.ui = false;
    } else if (name == "--ui-port") {
      int port = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc{} || p != value.data() + value.size() || port < 0 || port > 65535)
        throw config_error(fmt::format("--ui-port {}: must be a port from 0 (any free port) to 65535", value));
      o.ui_port = port;
    } else if (name == "--ui-host") {
      o.ui_host = value;
    } else if (name == "--executor") {
      executor.driver_url = value;
    } else if (name == "--executor-id") {
      executor.id = value;
    } else if (name == "--executor-cores") {
      auto n = parse_count(value);
      if (!n || *n > 256)
        throw config_error(fmt::format("--executor-cores {}: must be a number from 1 to 256", value));
      executor.cores = *n;
    } else if (name == "--executor-host") {
      executor.host = value;
    } else {
      // The flag table (lib/command_line.cpp) lists a flag this constructor does not know.
      throw config_error(fmt::format("{}: a flag of spate's that this build does not handle", name));
    }
  }
  if (!executor.driver_url.empty()) {
    detail::parse_spate_url(executor.driver_url);
    become_executor(executor);
  }
  engine_ = make_engine(o);
  args_ = std::move(split.rest);
}

std::string Context::status_url() const { return engine_->status_url(); }

std::string Context::event_log_path() const { return engine_->event_log_path(); }

Dataset<std::string_view> Context::text_file(const std::string& path,
                                             std::size_t min_partitions) const {
  std::size_t n = min_partitions ? min_partitions : default_parallelism();
  return Dataset<std::string_view>(detail::DatasetCore<std::string_view, void>{
      engine_, detail::make_text_file_node(engine_->next_node_id(), path, n)});
}

}  // namespace spate
