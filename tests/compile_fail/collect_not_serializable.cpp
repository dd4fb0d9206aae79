// Must not compile: an action that brings back records with no serialize() and no fast path.
#include <spate/spate.hpp>

struct Reading {
  double value = 0;
};

int main() {
  spate::Context ctx;
  auto readings = ctx.parallelize(std::vector<int>{1, 2, 3}).map([](int x) { return Reading{x * 0.5}; });
  auto all = readings.collect();  // the user's line
  return static_cast<int>(all.size());
}
