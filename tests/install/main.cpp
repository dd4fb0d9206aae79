// Links against an installed spate and runs a small job; prints the word counts.
#include <spate/spate.hpp>

#include <iostream>

int main(int argc, char** argv) {
  spate::Context ctx(argc, argv);
  auto counts = ctx.parallelize(std::vector<std::string>{"a", "b", "a", "c", "a"}, 2)
                    .map([](const std::string& w) { return std::pair{w, 1}; })
                    .reduce_by_key(std::plus<>{})
                    .sort_by_key()
                    .collect();
  for (const auto& [w, n] : counts) std::cout << w << '=' << n << ' ';
  std::cout << '\n';
  return 0;
}
