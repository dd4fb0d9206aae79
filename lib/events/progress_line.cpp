// The progress line is drawn with a carriage return and "erase to end of line", which every
// terminal understands; it stays within the terminal's width so that it never wraps (a wrapped
// line cannot be redrawn in place).
#include "events/progress_line.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace spate::detail {

namespace {

std::string human_count(std::uint64_t n) {
  if (n >= 10'000'000'000ULL) return fmt::format("{:.0f}G", n / 1e9);
  if (n >= 1'000'000'000ULL) return fmt::format("{:.1f}G", n / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", n / 1e6);
  if (n >= 10'000) return fmt::format("{:.0f}k", n / 1e3);
  return std::to_string(n);
}

std::string human_bytes(double b) {
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.0f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.0f} kB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::size_t terminal_columns() {
  winsize w{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
  return 100;
}

}  // namespace

std::string format_progress(const ProgressSnapshot& p, std::int64_t now, std::size_t columns) {
  if (p.running_jobs == 0 || now - p.since < 1000) return "";
  double seconds = (now - p.since) / 1000.0;
  std::string line;
  if (p.stage >= 0)
    line = fmt::format("[stage {}: {}/{} tasks, {} running] ", p.stage, p.done, p.tasks, p.running);
  line += fmt::format("{} records, {} in, {}/s, {:.1f} s", human_count(p.records_in), human_bytes(p.bytes_in),
                      human_bytes(p.bytes_in / seconds), seconds);
  if (p.retries > 0) line += fmt::format(" | {} retr{}", p.retries, p.retries == 1 ? "y" : "ies");
  if (p.executors_lost > 0)
    line += fmt::format(" | {} executor{} lost", p.executors_lost, p.executors_lost == 1 ? "" : "s");
  if (p.stage >= 0 && !p.stage_name.empty()) line += " | " + p.stage_name;
  if (line.size() >= columns) line.resize(columns - 1);
  return line;
}

ProgressLine::ProgressLine(std::shared_ptr<const LiveStatus> status)
    : status_(std::move(status)), thread_([this](std::stop_token stop) { run(stop); }) {}

ProgressLine::~ProgressLine() {
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    std::string line = format_progress(status_->progress(), now, terminal_columns());
    if (!line.empty()) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
      shown_ = true;
    } else if (shown_) {
      std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
      shown_ = false;
    }
    cv_.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; });
  }
  if (shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace spate::detail
