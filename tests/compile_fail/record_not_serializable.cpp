// Must not compile: a shuffle of records with no serialize() and no fast path.
#include <spate/spate.hpp>

struct Point {
  int x = 0, y = 0;
  bool operator==(const Point&) const = default;
};

int main() {
  spate::Context ctx;
  auto pairs = ctx.parallelize(std::vector<int>{1, 2, 3}).map([](int x) { return std::pair{x, Point{x, x}}; });
  auto reduced = pairs.reduce_by_key([](Point a, Point) { return a; });  // the user's line
  return static_cast<int>(reduced.count());
}
