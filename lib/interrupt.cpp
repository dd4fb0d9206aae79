// CancelOnInterrupt. A signal handler may only do what is async-signal-safe, so it writes one
// byte to a pipe; a thread reading the pipe cancels the jobs. The pipe's write end is the one
// piece of process-wide state: a signal reaches the process, not an object.
#include "spate/interrupt.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "spate/context.hpp"
#include "spate/error.hpp"

namespace spate {

namespace {

std::atomic<int> g_signal_pipe{-1};     // write end, while a CancelOnInterrupt lives
std::atomic<int> g_signals_seen{0};

extern "C" void on_interrupt(int signo) {
  int saved = errno;
  if (g_signals_seen.fetch_add(1) > 0) ::_exit(CancelOnInterrupt::kExitStatus);  // asked twice: go now
  char b = static_cast<char>(signo);
  int fd = g_signal_pipe.load();
  if (fd >= 0) {
    [[maybe_unused]] auto n = ::write(fd, &b, 1);
  }
  errno = saved;
}

}  // namespace

struct CancelOnInterrupt::Impl {
  std::weak_ptr<detail::Engine> engine;
  int fds[2] = {-1, -1};
  struct sigaction old_int{}, old_term{};
  std::atomic<bool> interrupted{false};
  std::thread watcher;

  void watch() {
    for (;;) {
      char b = 0;
      ssize_t n = ::read(fds[0], &b, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || b == 0) return;  // 0: the destructor's word to stop
      interrupted = true;
      if (auto e = engine.lock())
        e->cancel_all(fmt::format("interrupted by {}", b == SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM"));
    }
  }
};

CancelOnInterrupt::CancelOnInterrupt(const Context& ctx) : impl_(std::make_unique<Impl>()) {
  impl_->engine = ctx.engine();
  if (::pipe2(impl_->fds, O_CLOEXEC) != 0) throw error(fmt::format("CancelOnInterrupt: pipe: {}", std::strerror(errno)));
  int expected = -1;
  if (!g_signal_pipe.compare_exchange_strong(expected, impl_->fds[1])) {
    ::close(impl_->fds[0]);
    ::close(impl_->fds[1]);
    throw error("CancelOnInterrupt: another one is alive in this process");
  }
  g_signals_seen = 0;
  impl_->watcher = std::thread([impl = impl_.get()] { impl->watch(); });
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, &impl_->old_int);
  ::sigaction(SIGTERM, &sa, &impl_->old_term);
}

CancelOnInterrupt::~CancelOnInterrupt() {
  ::sigaction(SIGINT, &impl_->old_int, nullptr);
  ::sigaction(SIGTERM, &impl_->old_term, nullptr);
  char stop = 0;
  [[maybe_unused]] auto n = ::write(impl_->fds[1], &stop, 1);
  impl_->watcher.join();
  g_signal_pipe = -1;
  ::close(impl_->fds[0]);
  ::close(impl_->fds[1]);
}

bool CancelOnInterrupt::interrupted() const noexcept { return impl_->interrupted; }

}  // namespace spate
