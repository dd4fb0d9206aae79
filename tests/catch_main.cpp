// The test runner's main: an executor started by a local-cluster test serves tasks instead of
// running the tests again.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <spate/context.hpp>

int main(int argc, char** argv) {
  spate::serve_if_executor(argc, argv);
  return Catch::Session().run(argc, argv);
}
