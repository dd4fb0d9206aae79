#include "spate/detail/thread_coroutine.hpp"

#include <utility>

namespace spate::detail {

ThreadCoroutine::ThreadCoroutine(std::function<void(ThreadCoroutine&)> produce)
    : produce_(std::move(produce)) {}

ThreadCoroutine::~ThreadCoroutine() {
  if (!started_) return;
  {
    std::unique_lock lock(mutex_);
    if (turn_ != Turn::finished) {
      // The producer waits in yield(): wake it to unwind, and wait for it to end.
      stopping_ = true;
      turn_ = Turn::producer;
      changed_.notify_all();
      changed_.wait(lock, [&] { return turn_ == Turn::finished; });
    }
  }
  thread_.join();
}

bool ThreadCoroutine::resume() {
  std::unique_lock lock(mutex_);
  if (turn_ == Turn::finished) return false;
  turn_ = Turn::producer;
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { run(); });
  } else {
    changed_.notify_all();
  }
  changed_.wait(lock, [&] { return turn_ != Turn::producer; });
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  return turn_ != Turn::finished;
}

void ThreadCoroutine::yield() {
  std::unique_lock lock(mutex_);
  turn_ = Turn::consumer;
  changed_.notify_all();
  changed_.wait(lock, [&] { return turn_ == Turn::producer; });
  if (stopping_) throw Stopped{};
}

void ThreadCoroutine::run() {
  {
    // The producer's first turn begins once resume() waits (it holds the lock until then).
    std::unique_lock lock(mutex_);
  }
  std::exception_ptr failure;
  try {
    produce_(*this);
  } catch (const Stopped&) {
    // The consumer let go early: nothing to report.
  } catch (...) {
    failure = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  failure_ = std::move(failure);
  turn_ = Turn::finished;
  changed_.notify_all();
}

}  // namespace spate::detail
