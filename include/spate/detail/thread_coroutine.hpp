// ThreadCoroutine: a producer run on its own thread but never at the same time as its consumer,
// so that a push-based computation (a node's compute) can be read as a pull-based range.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace spate::detail {

/// Runs `produce` on a thread of its own, taking turns with the thread that owns this object:
/// exactly one of the two runs at any time, and each turn's writes are seen by the other (the
/// hand-over goes through a mutex). State the two share (a task's TaskContext, a batch of
/// records) so needs no locking of its own. Not a fiber: no stack switching, so sanitizers and
/// debuggers see two ordinary threads.
class ThreadCoroutine {
 public:
  /// Thrown by yield() inside the producer when the consumer gave up early; the producer must
  /// let it unwind (it is not a spate::error and must not be swallowed).
  struct Stopped {};

  /// Prepares the producer; it starts at the first resume().
  explicit ThreadCoroutine(std::function<void(ThreadCoroutine&)> produce);
  /// Stops a producer still running (its yield() throws Stopped) and joins its thread.
  ~ThreadCoroutine();
  ThreadCoroutine(const ThreadCoroutine&) = delete;
  ThreadCoroutine& operator=(const ThreadCoroutine&) = delete;

  /// Consumer: lets the producer run until it yields or ends; returns false when it has ended.
  /// Rethrows, once, what the producer threw.
  bool resume();
  /// Producer: hands the turn back to the consumer and waits for the next resume(); throws
  /// Stopped when the consumer is being destroyed instead.
  void yield();

 private:
  enum class Turn { consumer, producer, finished };
  void run();

  std::function<void(ThreadCoroutine&)> produce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Turn turn_ = Turn::consumer;
  bool stopping_ = false;
  bool started_ = false;
  std::exception_ptr failure_;
  std::thread thread_;
};

}  // namespace spate::detail
