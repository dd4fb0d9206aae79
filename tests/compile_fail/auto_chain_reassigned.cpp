// Must not compile: an `auto` chain of narrow operators reassigned with a longer chain.
#include <spate/spate.hpp>

int main() {
  spate::Context ctx;
  auto d = ctx.parallelize(std::vector<int>{1, 2, 3}).map([](int x) { return x + 1; });
  for (int i = 0; i < 3; ++i) d = d.map([](int x) { return x * 2; });  // the user's line
  return static_cast<int>(d.count());
}
