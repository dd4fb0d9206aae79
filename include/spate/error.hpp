// The exceptions spate throws; each names what failed and where.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace spate {

/// Base of every exception spate throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A flag, master URL or other setting is malformed; the message names the flag and what is allowed.
class config_error : public error {
 public:
  using error::error;
};

/// A file could not be listed, opened, read, decompressed or written; the message names the path.
class io_error : public error {
 public:
  using error::error;
};

/// Input data broke a rule (a malformed line in strict mode); the message gives file, line and reason.
class input_error : public error {
 public:
  using error::error;
};

/// A user's function threw inside an operator (map, filter, ...): what() is "in OP: MESSAGE",
/// so a failed job's error says which operator of its stage the exception came from.
class operator_error : public error {
 public:
  operator_error(std::string op, const std::string& message)
      : error("in " + op + ": " + message), op_(std::move(op)) {}
  /// The operator's name, as in stage names ("map", "flat_map", ...).
  const std::string& op() const noexcept { return op_; }

 private:
  std::string op_;
};

/// Bytes could not be decoded into a record or task state (truncated, oversized or corrupt).
class serialization_error : public error {
 public:
  using error::error;
};

/// A job was cancelled before it finished (its handle, its job group, cancel_all, or Ctrl-C in a
/// program that asked for that); what() says which job and why.
class job_cancelled : public error {
 public:
  using error::error;
};

/// A job failed after its retries; what() carries the user's message, the stage, partition and attempt.
class job_error : public error {
 public:
  job_error(const std::string& what, std::string user_message, int stage, std::size_t partition,
            int attempt, std::string op = "")
      : error(what),
        user_message_(std::move(user_message)),
        op_(std::move(op)),
        stage_(stage),
        partition_(partition),
        attempt_(attempt) {}

  /// The message of the exception the user's function threw.
  const std::string& user_message() const noexcept { return user_message_; }
  /// The operator whose function threw ("map", "filter", ...), or "" when not known.
  const std::string& op() const noexcept { return op_; }
  /// The stage whose task failed.
  int stage() const noexcept { return stage_; }
  /// The partition whose task failed.
  std::size_t partition() const noexcept { return partition_; }
  /// The attempt (1-based) that failed last.
  int attempt() const noexcept { return attempt_; }

 private:
  std::string user_message_;
  std::string op_;
  int stage_;
  std::size_t partition_;
  int attempt_;
};

}  // namespace spate
