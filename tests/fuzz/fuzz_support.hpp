// What every fuzz target shares: the rule that a decoder ends in a value or a spate::error, a
// way to stop the run loudly (libFuzzer saves the input that got there as a crash artifact), and
// writing seed inputs.
#pragma once

#include <boost/core/demangle.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "spate/error.hpp"

namespace spate_fuzz {

/// Prints why the input broke an invariant and aborts, which libFuzzer reports as a crash.
[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "\nspate fuzz: invariant broken: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

/// Runs f(); a spate::error is an accepted way for a decoder to refuse bytes (returns false),
/// any other exception is a bug (aborts, naming its type and message). True when f() returned.
template <class F>
bool refused_or_done(F&& f) {
  try {
    f();
    return true;
  } catch (const spate::error&) {
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nspate fuzz: a decoder threw %s, which is not a spate::error: %s\n",
                 boost::core::demangle(typeid(e).name()).c_str(), e.what());
    std::abort();
  } catch (...) {
    fail("a decoder threw something that is not a std::exception");
  }
}

/// Each target's LLVMFuzzerInitialize makes valid inputs from real values; when the environment
/// names a directory in SPATE_FUZZ_WRITE_SEEDS, they are written there as NAME-0, NAME-1, ...
/// (scripts/fuzz seeds does this to refresh tests/fuzz/corpus).
inline void write_seeds_if_asked(const std::string& name, const std::vector<std::string>& seeds) {
  const char* dir = std::getenv("SPATE_FUZZ_WRITE_SEEDS");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out(std::filesystem::path(dir) / (name + "-" + std::to_string(i)),
                      std::ios::binary);
    out << seeds[i];
    if (!out.flush()) fail("cannot write a seed file");
  }
  std::fprintf(stderr, "spate fuzz: wrote %zu seeds to %s\n", seeds.size(), dir);
}

}  // namespace spate_fuzz
