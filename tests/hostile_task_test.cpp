// Tasks that no honest driver sends: a partition the stage does not have, and a stage whose
// nodes nest deeper than a task thread's stack allows. Each fails that task with a reason; the
// executor (a real process of this binary, over TCP) keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <thread>
#include <deque>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>

#include "cluster/protocol.hpp"
#include "net/connection.hpp"
#include "process_support.hpp"
#include "spate/detail/graph_codec.hpp"
#include "spate/detail/run_partitions.hpp"
#include "test_support.hpp"

using namespace spate_test;

namespace {

namespace detail = spate::detail;
namespace net = spate::detail::net;
namespace protocol = spate::detail::protocol;

// The per-partition record count of `node`: the stage of a count() over it.
template <class T>
std::string count_stage(const std::shared_ptr<detail::Node<T>>& node) {
  auto count = [](detail::TaskContext& tc, std::size_t p, detail::Node<T>& n) {
    std::uint64_t records = 0;
    detail::for_each_record(tc, p, n, [&records](const T&) { ++records; });
    return records;
  };
  detail::PartitionResults<T, std::uint64_t, decltype(count)> handler(node, count);
  spate::Writer w;
  detail::GraphWriter g(w);
  detail::write_registered(g, handler);
  return std::move(w).take();
}

// A driver that welcomes one executor and then only sends what the test tells it to, handing
// back the frames the executor answers with.
class ScriptedDriver {
 public:
  explicit ScriptedDriver(std::string secret, bool encrypt = true) {
    net::ServerOptions so;
    so.secret = std::move(secret);
    so.connection.encrypt = encrypt;
    net::ServerHandlers h;
    h.on_frame = [this](const std::shared_ptr<net::Connection>& c, net::Frame&& f) {
      if (f.type == net::FrameType::register_executor) {
        c->send(net::FrameType::executor_registered, protocol::encode(protocol::Welcome{}));
        std::lock_guard lock(mutex_);
        executor_ = c;
        registration_ = protocol::decode_registration(f.payload);
      } else if (f.type != net::FrameType::heartbeat) {
        std::lock_guard lock(mutex_);
        frames_.push_back(std::move(f));
      }
      cv_.notify_all();
    };
    server_.emplace(so, h);
  }

  std::uint16_t port() const { return server_->port(); }

  void launch(std::uint64_t task_id, std::uint64_t partition, std::string stage_bytes,
              bool is_map = false, std::vector<protocol::ShuffleLocations> shuffles = {}) {
    std::shared_ptr<net::Connection> c;
    {
      std::unique_lock lock(mutex_);
      REQUIRE(cv_.wait_for(lock, 30s, [this] { return executor_ != nullptr; }));
      c = executor_;
    }
    protocol::Launch l;
    l.task_id = task_id;
    l.is_map = is_map;
    l.stage = 1;
    l.partition = partition;
    l.stage_bytes = std::move(stage_bytes);
    l.shuffles = std::move(shuffles);
    c->send(net::FrameType::launch_task, protocol::encode(l));
  }

  // The executor's registration, once it has registered.
  protocol::Registration registration() {
    std::unique_lock lock(mutex_);
    REQUIRE(cv_.wait_for(lock, 30s, [this] { return executor_ != nullptr; }));
    return registration_;
  }

  net::Frame next_answer() {
    std::unique_lock lock(mutex_);
    REQUIRE(cv_.wait_for(lock, 30s, [this] { return !frames_.empty(); }));
    net::Frame f = std::move(frames_.front());
    frames_.pop_front();
    return f;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::shared_ptr<net::Connection> executor_;
  protocol::Registration registration_;
  std::deque<net::Frame> frames_;
  std::optional<net::Server> server_;  // last: stopped first, while the rest still exists
};

// A TCP proxy to 127.0.0.1:`to` for one connection, which changes one byte on the way back:
// the last payload byte of the first block_data frame.
class CorruptingProxy {
 public:
  explicit CorruptingProxy(std::uint16_t to) : to_(to) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CorruptingProxy() {
    ::shutdown(listener_, SHUT_RDWR);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
    if (forward_.joinable()) forward_.join();
    for (int fd : fds_) ::close(fd);
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }
  bool corrupted() const { return corrupted_; }

 private:
  // Moves all n bytes with `op` (read or write), which may move fewer per call.
  template <class Op>
  static bool whole(Op op, int fd, char* p, std::size_t n) {
    while (n > 0) {
      ssize_t done = op(fd, p, n);
      if (done <= 0) return false;
      p += done;
      n -= static_cast<std::size_t>(done);
    }
    return true;
  }
  static bool read_all(int fd, char* p, std::size_t n) { return whole(::read, fd, p, n); }
  static bool write_all(int fd, const char* p, std::size_t n) {
    return whole(::write, fd, const_cast<char*>(p), n);  // write() only reads from it
  }
  void serve() {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to_);
    fds_ = {client, server};
    if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    // Reducer to block server: as it is.
    forward_ = std::thread([client, server] {
      char buf[65536];
      for (;;) {
        ssize_t r = ::read(client, buf, sizeof buf);
        if (r <= 0 || !write_all(server, buf, static_cast<std::size_t>(r))) break;
      }
      ::shutdown(server, SHUT_WR);
    });
    // Block server to reducer: frame by frame (net/frame.hpp's 8-byte header).
    for (;;) {
      char header[8];
      if (!read_all(server, header, 8)) break;
      std::uint32_t len = 0;
      std::memcpy(&len, header + 4, 4);
      std::string payload(len, '\0');
      if (!read_all(server, payload.data(), len)) break;
      if (header[3] == static_cast<char>(net::FrameType::block_data) && !corrupted_ && len > 0) {
        payload.back() = static_cast<char>(payload.back() ^ 0x20);
        corrupted_ = true;
      }
      if (!write_all(client, header, 8) || !write_all(client, payload.data(), len)) break;
    }
    ::shutdown(client, SHUT_WR);
  }

  std::uint16_t to_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::vector<int> fds_;
  std::atomic<bool> corrupted_{false};
  std::thread thread_, forward_;
};

}  // namespace

TEST_CASE("a shuffle block damaged on the wire is a fetch failure naming the seal or the checksum, not a wrong answer",
          "[cluster]") {
  // Sealed (the default), the record layer finds the changed byte; plain, the chunk checksum.
  auto [sealed, found_by] = GENERATE(table<bool, std::string>(
      {{true, "failed authentication"}, {false, "checksum mismatch"}}));
  CAPTURE(sealed);
  std::map<std::string, std::string> wire;
  if (!sealed) wire["SPATE_WIRE_ENCRYPTION"] = "off";
  auto ctx = make_context("local[1]");
  std::vector<std::pair<int, long>> pairs;
  for (int i = 0; i < 600; ++i) pairs.emplace_back(i % 100, i);
  auto sums = ctx.parallelize(pairs, 3).reduce_by_key(std::plus<>{}, 2).node();
  const auto& dep = *sums->shuffle_dependencies().front();
  spate::Writer map_stage;
  detail::GraphWriter(map_stage).shuffle(dep);
  std::string map_bytes = std::move(map_stage).take();
  std::string reduce_bytes = count_stage(sums);

  // Executor A runs the map tasks and serves their blocks; executor B, of another scripted
  // driver, runs the reduce task and fetches them through the proxy.
  const std::string secret = "wire-damage-secret";
  ScriptedDriver holder(secret, sealed), reducer(secret, sealed);
  fs::path err = fs::temp_directory_path() / ("spate-wire-damage-" + std::to_string(::getpid()) + ".err");
  wire["SPATE_SECRET"] = secret;
  Child a({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(holder.port())}, wire, err);
  Child b({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(reducer.port())}, wire, err);
  for (std::uint64_t m = 0; m < 3; ++m) {
    holder.launch(30 + m, m, map_bytes, true);
    net::Frame answer = holder.next_answer();
    REQUIRE(answer.type == net::FrameType::task_result);
    // Its map status: a size for each of the two buckets, neither empty with 200 records.
    std::string sizes = protocol::decode_result(answer.payload).bucket_sizes;
    REQUIRE(sizes.size() == 2);
    CHECK((sizes[0] != 0 && sizes[1] != 0));
  }
  auto run_reduce = [&](std::uint64_t task, std::uint16_t port) {
    std::string at = "127.0.0.1:" + std::to_string(port);
    reducer.launch(task, 0, reduce_bytes, false, {protocol::ShuffleLocations{dep.shuffle_id(), {at, at, at}, {}}});
    return reducer.next_answer();
  };

  CorruptingProxy proxy(holder.registration().block_port);
  net::Frame damaged = run_reduce(40, proxy.port());
  CHECK(proxy.corrupted());
  REQUIRE(damaged.type == net::FrameType::task_failed);
  auto failure = protocol::decode_failure(damaged.payload);
  CHECK(failure.fetch_failed);
  CHECK(failure.shuffle == dep.shuffle_id());
  CHECK_THAT(failure.message, Catch::Contains(found_by));

  // Straight to the block server, the same task succeeds.
  net::Frame whole = run_reduce(41, holder.registration().block_port);
  CHECK(whole.type == net::FrameType::task_result);
  fs::remove(err);
}

TEST_CASE("a task for a partition its stage does not have fails naming it, and the executor serves on",
          "[cluster]") {
  auto ctx = make_context("local[1]");
  std::vector<int> v{1, 2, 3, 4, 5};
  std::string stage = count_stage(ctx.parallelize(v, 2).node());

  ScriptedDriver driver("hostile-task-secret");
  fs::path err = fs::temp_directory_path() / ("spate-hostile-task-" + std::to_string(::getpid()) + ".err");
  Child executor({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(driver.port())},
                 {{"SPATE_SECRET", "hostile-task-secret"}}, err);

  for (std::uint64_t partition : {std::uint64_t{2}, std::uint64_t{1} << 40}) {
    driver.launch(7, partition, stage);
    net::Frame f = driver.next_answer();
    REQUIRE(f.type == net::FrameType::task_failed);
    protocol::Failure failure = protocol::decode_failure(f.payload);
    CHECK(failure.task_id == 7);
    CHECK(failure.message == "task 7 of stage 1: partition " + std::to_string(partition) +
                                 " does not exist: the stage has 2");
  }
  // A map task: its partitions are the shuffled node's (3 here), not the reducers' (2).
  std::vector<std::pair<int, long>> pairs{{1, 1}, {2, 2}, {1, 3}};
  auto sums = ctx.parallelize(pairs, 3).reduce_by_key(std::plus<>{}, 2).node();
  spate::Writer map_stage;
  detail::GraphWriter(map_stage).shuffle(*sums->shuffle_dependencies().front());
  driver.launch(9, 3, std::move(map_stage).take(), true);
  net::Frame map_failed = driver.next_answer();
  REQUIRE(map_failed.type == net::FrameType::task_failed);
  CHECK(protocol::decode_failure(map_failed.payload).message ==
        "task 9 of stage 1: partition 3 does not exist: the stage has 3");

  // The same executor still runs a task that is in range, and counts right.
  driver.launch(8, 1, stage);
  net::Frame f = driver.next_answer();
  REQUIRE(f.type == net::FrameType::task_result);
  protocol::Result result = protocol::decode_result(f.payload);
  CHECK(result.task_id == 8);
  spate::Reader r(result.result);
  CHECK(spate::deserialize_from<std::uint64_t>(r) == 3);  // partition 1 of 5 values in 2: {3, 4, 5}
  fs::remove(err);
}

TEST_CASE("a node asked for a partition it does not have throws, naming node and count",
          "[cluster]") {
  auto ctx = make_context("local[1]");
  std::vector<int> v{1, 2, 3};
  auto node = ctx.parallelize(v, 3).map([](int x) { return x + 1; }).node();
  detail::BlockStore blocks;
  detail::TaskContext tc(blocks, 0, 3, 1);
  std::uint64_t seen = 0;
  auto body = [&seen](int&&) { ++seen; };
  CHECK_THROWS_WITH(node->iterate(tc, 3, detail::Emit<int>(body)),
                    "partition 3 of node " + std::to_string(node->id()) +
                        " (map) does not exist: it has 3 partitions");
  CHECK(seen == 0);
}

TEST_CASE("stages nesting nodes past the limit are refused by the driver's writer and by executors",
          "[cluster]") {
  auto ctx = make_context("local[1]");
  std::vector<std::pair<int, long>> v{{1, 1}, {2, 2}};
  // Each union_with is a node over the one before: a chain of nested nodes, one level each.
  auto chain = [&](std::size_t depth) {
    auto d = ctx.parallelize(v, 1);
    for (std::size_t i = 1; i < depth; ++i) d = d.union_with(ctx.parallelize(v, 1));
    return d;
  };
  auto read_result_stage = [](const std::string& bytes) {
    spate::Reader in(bytes);
    detail::GraphReader g(in);
    return detail::read_registered<detail::ResultHandler>(g, detail::TypeKind::handler);
  };
  const std::string too_deep = "a shipped stage nests nodes more than 1000 deep";
  CHECK(read_result_stage(count_stage(chain(detail::kMaxShippedDepth).node()))->num_partitions() ==
        detail::kMaxShippedDepth);
  CHECK_THROWS_WITH(count_stage(chain(detail::kMaxShippedDepth + 1).node()),
                    Catch::Contains(too_deep));

  // A map stage counts its shuffle as a level: 1000 nodes under it are one too many. The
  // driver's writer refuses it; bytes assembled without that check are refused by the reader.
  auto sums = chain(detail::kMaxShippedDepth).reduce_by_key(std::plus<>{}, 2).node();
  const auto& shuffle = *sums->shuffle_dependencies().front();
  spate::Writer refused;
  CHECK_THROWS_WITH(detail::GraphWriter(refused).shuffle(shuffle), Catch::Contains(too_deep));
  spate::Writer forged;
  detail::GraphWriter g(forged);
  spate::serialize_to(forged, std::string_view(shuffle.type_key()));
  g.shuffle_ref(shuffle);
  shuffle.save(g);  // what GraphWriter::shuffle writes, without its level
  std::string bytes = std::move(forged).take();
  spate::Reader in(bytes);
  detail::GraphReader reader(in);
  CHECK_THROWS_WITH(reader.shuffle(), Catch::Contains(too_deep));
}

TEST_CASE("an executor's block server answers a batched fetch in order, marks what it lacks, and "
          "closes a reader that asks too much or sends garbage",
          "[cluster]") {
  auto ctx = make_context("local[1]");
  std::vector<std::pair<int, long>> pairs{{1, 1}, {2, 2}, {1, 3}, {3, 4}};
  auto sums = ctx.parallelize(pairs, 3).reduce_by_key(std::plus<>{}, 2).node();
  const auto& dep = *sums->shuffle_dependencies().front();
  spate::Writer map_stage;
  detail::GraphWriter(map_stage).shuffle(dep);
  std::string stage = std::move(map_stage).take();

  const std::string secret = "block-fetch-secret";
  ScriptedDriver driver(secret);
  fs::path err = fs::temp_directory_path() / ("spate-block-fetch-" + std::to_string(::getpid()) + ".err");
  Child executor({self_exe(), "--executor", "spate://127.0.0.1:" + std::to_string(driver.port())},
                 {{"SPATE_SECRET", secret}}, err);
  for (std::uint64_t m = 0; m < 3; ++m) {
    driver.launch(20 + m, m, stage, true);
    REQUIRE(driver.next_answer().type == net::FrameType::task_result);
  }
  protocol::Registration reg = driver.registration();
  auto connect = [&] {
    return net::Connection::connect(reg.block_host, reg.block_port, secret, net::PeerRole::fetcher, 10s);
  };
  // Every entry of the answers to `request`, in order (the bytes copied out of their frames).
  auto fetch = [&](net::Connection& c, const protocol::Fetch& request) {
    c.send(net::FrameType::fetch_block, protocol::encode(request));
    std::vector<std::pair<protocol::BlockEntry, std::string>> got;
    while (got.size() < request.maps.size()) {
      auto f = c.receive(10s);
      REQUIRE(f);
      REQUIRE(f->type == net::FrameType::block_data);
      for (const auto& e : protocol::decode_blocks(f->payload)) got.emplace_back(e, std::string(e.bytes));
    }
    return got;
  };

  auto c = connect();
  // Both buckets of every map output: each of the four records comes back exactly once.
  std::vector<std::pair<int, long>> records;
  for (std::uint64_t reduce : {0, 1}) {
    auto got = fetch(*c, {dep.shuffle_id(), reduce, {0, 1, 2}});
    REQUIRE(got.size() == 3);
    for (std::uint64_t m = 0; m < 3; ++m) {
      CHECK(got[m].first.map == m);
      CHECK(got[m].first.kind == protocol::BlockPiece::last);
      detail::ChunkDecoder decoder;
      decoder.feed(got[m].second, [&](std::string_view raw) {
        spate::Reader in(raw);
        while (!in.at_end()) records.push_back(spate::deserialize_from<std::pair<int, long>>(in));
      });
      decoder.finish();
    }
  }
  CHECK(sorted(records) == sorted(pairs));
  // A map output it does not hold, and a shuffle it has never seen, are marked missing.
  auto partly = fetch(*c, {dep.shuffle_id(), 0, {1, 7}});
  REQUIRE(partly.size() == 2);
  CHECK(partly[0].first.kind == protocol::BlockPiece::last);
  CHECK((partly[1].first.map == 7 && partly[1].first.kind == protocol::BlockPiece::missing));
  auto unknown = fetch(*c, {dep.shuffle_id() + 100, 1, {0}});
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].first.kind == protocol::BlockPiece::missing);

  // Too many blocks in one request, and a request that is not one, close that reader only.
  std::vector<std::uint64_t> many(protocol::kMaxBlocksPerFetch + 1);
  std::iota(many.begin(), many.end(), 0);
  c->send(net::FrameType::fetch_block, protocol::encode(protocol::Fetch{dep.shuffle_id(), 0, many}));
  CHECK_THROWS_AS(c->receive(10s), net::connection_closed);
  auto garbage = connect();
  garbage->send(net::FrameType::fetch_block, "\x01\x02");
  CHECK_THROWS_AS(garbage->receive(10s), net::connection_closed);
  auto again = connect();
  CHECK(fetch(*again, {dep.shuffle_id(), 1, {2}}).size() == 1);
  fs::remove(err);
}
