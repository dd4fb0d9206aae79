// The executor process: a task server for one driver.
//
// It connects to the driver and registers (id, cores, block server address, executable
// fingerprint). Tasks arrive as launch_task frames and run on `cores` worker threads: each is
// decoded through the operator registry, run against this process's block store, and answered
// with task_result or task_failed. Map outputs stay here; reducers on other executors fetch their
// buckets from this process's block server. When the driver's connection closes (or it says
// shutdown), the process ends: an executor never outlives its driver.
#include "cluster/executor.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <mutex>
#include <thread>

#include "cluster/fingerprint.hpp"
#include "cluster/protocol.hpp"
#include "net/auth.hpp"
#include "net/connection.hpp"
#include "net/net_error.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/engine.hpp"
#include "spate/detail/graph_codec.hpp"
#include "spate/detail/shuffle_dependency.hpp"
#include "spate/detail/task_context.hpp"
#include "scheduler/task_loss.hpp"
#include "spate/error.hpp"
#include "storage/memory_budget.hpp"

namespace spate::detail {

using namespace std::chrono_literals;

namespace {

// A task's function that crashes its executor (a captured reference into the driver's memory,
// say) leaves a line in the executor's log naming the task: a local-cluster driver learns the
// signal from waitpid, but a spate:// driver on another host sees only a closed connection.
// A signal handler reaches only static storage, written once before the handler is installed.
constexpr std::array<int, 5> kCrashSignals{SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct CrashReport {
  char executor[128] = {};
  std::array<struct sigaction, kCrashSignals.size()> previous{};
};
CrashReport crash_report;

const char* crash_signal_name(int sig) noexcept {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "a crash signal";
  }
}

// Async-signal-safe appenders: no allocation, no locale, no stdio.
void append(char*& at, char* end, const char* text) noexcept {
  while (*text != '\0' && at < end) *at++ = *text++;
}
void append(char*& at, char* end, unsigned long long n) noexcept {
  char digits[24];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (k > 0 && at < end) *at++ = digits[--k];
}

extern "C" void report_crash(int sig) {
  char line[512];
  char* at = line;
  char* end = line + sizeof line - 1;
  append(at, end, "spate executor ");
  append(at, end, crash_report.executor);
  append(at, end, ": ");
  append(at, end, crash_signal_name(sig));
  if (const TaskContext* tc = current_task()) {
    append(at, end, " while running stage ");
    append(at, end, static_cast<unsigned long long>(tc->stage()));
    append(at, end, " partition ");
    append(at, end, static_cast<unsigned long long>(tc->partition()));
    append(at, end, " attempt ");
    append(at, end, static_cast<unsigned long long>(tc->attempt()));
    append(at, end, "; functions passed to operators run in executor processes: capture values, not "
                    "references or pointers");
  }
  *at++ = '\n';
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line, static_cast<std::size_t>(at - line));
  // What was there before (the default action, or a sanitizer's report) then ends the process.
  for (std::size_t i = 0; i < kCrashSignals.size(); ++i)
    if (kCrashSignals[i] == sig) ::sigaction(sig, &crash_report.previous[i], nullptr);
  ::raise(sig);
}

// Installs report_crash for this executor process, named `id` in its lines.
void report_crashes_as(const std::string& id) {
  std::strncpy(crash_report.executor, id.c_str(), sizeof crash_report.executor - 1);
  struct sigaction action {};
  action.sa_handler = report_crash;
  sigemptyset(&action.sa_mask);
  for (std::size_t i = 0; i < kCrashSignals.size(); ++i)
    ::sigaction(kCrashSignals[i], &action, &crash_report.previous[i]);
}

}  // namespace

std::pair<std::string, std::uint16_t> parse_spate_url(const std::string& url) {
  constexpr std::string_view scheme = "spate://";
  auto bad = [&] {
    return config_error(fmt::format("'{}' is not a driver URL; expected spate://HOST:PORT", url));
  };
  if (!url.starts_with(scheme)) throw bad();
  std::string rest = url.substr(scheme.size());
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad();
  unsigned port = 0;
  auto [p, ec] = std::from_chars(rest.data() + colon + 1, rest.data() + rest.size(), port);
  if (ec != std::errc{} || p != rest.data() + rest.size() || port > 65535) throw bad();
  std::string host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, static_cast<std::uint16_t>(port)};
}

namespace {

// The local address this host uses to reach `host`: a UDP socket "connected" there sends nothing
// but makes the kernel pick the route, and so the interface other hosts can reach us on.
std::string address_facing(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    return "127.0.0.1";
  std::string out = "127.0.0.1";
  int fd = ::socket(res->ai_family, SOCK_DGRAM, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      char buf[INET6_ADDRSTRLEN] = {};
      const void* addr = local.ss_family == AF_INET6
                             ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                             : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
      if (inet_ntop(local.ss_family, addr, buf, sizeof buf)) out = buf;
    }
  }
  if (fd >= 0) ::close(fd);
  freeaddrinfo(res);
  return out;
}

std::pair<std::string, std::uint16_t> split_address(const std::string& a) {
  auto colon = a.rfind(':');
  return {a.substr(0, colon), static_cast<std::uint16_t>(std::stoul(a.substr(colon + 1)))};
}

// Authenticated connections to other executors' block servers, kept between tasks: a reducer's
// fetches reuse them instead of paying a connection and handshake per task.
class PeerConnections {
 public:
  explicit PeerConnections(std::string secret) : secret_(std::move(secret)) {}

  std::shared_ptr<net::Connection> checkout(const std::string& address) {
    {
      std::lock_guard lock(mutex_);
      auto& idle = idle_[address];
      while (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        if (c->is_open()) return c;
      }
    }
    auto [host, port] = split_address(address);
    return net::Connection::connect(host, port, secret_, net::PeerRole::fetcher, 30s);
  }

  // Hands back a connection whose last exchange completed, for the next fetch to use.
  void give_back(const std::string& address, std::shared_ptr<net::Connection> c) {
    std::lock_guard lock(mutex_);
    idle_[address].push_back(std::move(c));
  }

 private:
  std::string secret_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::shared_ptr<net::Connection>>> idle_;
};

// The most buckets a reducer has asked for and not yet read, from all executors together, and
// (when the driver sent their sizes) the most bytes: what bounds the bytes it receives ahead of
// its reading, and how long a block server may wait on it. Spark's maxBytesInFlight is 48 MB.
constexpr std::size_t kBlocksAhead = 256;
constexpr std::uint64_t kBytesAhead = std::uint64_t{48} << 20;
// A block server fills a block_data frame with buckets up to this size before sending it.
constexpr std::size_t kBlockFrameBytes = std::size_t{1} << 20;

// One reduce partition's buckets from the executors that hold them. Requests go out for the
// next kBlocksAhead buckets in map order, one request per executor, to every executor at once;
// each executor answers its requests in order, many buckets to a block_data frame, so a
// thousand empty buckets cost one round trip and a few bytes. Blocks are handed out in map
// order, each executor's frames read as their turn comes (TCP holds back an executor whose
// buckets come later).
class PeerBlockStream final : public BlockStream {
 public:
  // `sizes`: one compress_size byte per map partition of the bucket read, or empty when unknown;
  // a bucket known to be empty is never asked for.
  PeerBlockStream(PeerConnections& pool, int shuffle, std::size_t reduce, std::vector<std::size_t> maps,
                  const std::vector<std::string>& addresses, std::string_view sizes)
      : pool_(pool), shuffle_(shuffle), reduce_(reduce) {
    if (!sizes.empty()) {
      std::erase_if(maps, [&](std::size_t m) { return m < sizes.size() && sizes[m] == 0; });
      for (std::size_t m : maps) size_.push_back(m < sizes.size() ? protocol::decompress_size(static_cast<std::uint8_t>(sizes[m])) : 0);
      skipped_.assign(sizes.size(), false);
      for (std::size_t m = 0; m < sizes.size(); ++m) skipped_[m] = sizes[m] == 0;
    }
    maps_ = std::move(maps);
    std::map<std::string, std::size_t> index;
    owner_.reserve(maps_.size());
    for (std::size_t m : maps_) {
      if (m >= addresses.size())
        throw error(fmt::format("shuffle {} map partition {}: no location was sent with the task", shuffle, m));
      auto [it, added] = index.try_emplace(addresses[m], peers_.size());
      if (added) peers_.emplace_back().address = addresses[m];
      owner_.push_back(it->second);
    }
  }

  ~PeerBlockStream() override {
    for (auto& p : peers_) {
      if (!p.conn) continue;
      // A connection with answers still on their way cannot serve the next request.
      if (p.outstanding == 0)
        pool_.give_back(p.address, std::move(p.conn));
      else
        p.conn->close("the reducer stopped reading");
    }
  }

  void read(std::size_t map, ChunkDecoder& decoder, const ChunkDecoder::Sink& sink) override {
    if (map < skipped_.size() && skipped_[map]) return;  // empty: nothing to fetch
    if (read_ >= maps_.size() || maps_[read_] != map)
      throw error(fmt::format("shuffle {}: bucket of map partition {} asked out of turn", shuffle_, map));
    if (requested_ - read_ <= kBlocksAhead / 2 && bytes_ahead_ <= kBytesAhead / 2) request_more();
    if (!size_.empty()) bytes_ahead_ -= std::min(bytes_ahead_, size_[read_]);
    Peer& p = peers_[owner_[read_]];
    for (;;) {
      if (p.at == p.entries.size()) receive(p, map);
      const protocol::BlockEntry& e = p.entries[p.at++];
      if (e.map != map)
        throw failed(p, map, fmt::format("the bucket of map partition {} came instead", e.map));
      if (e.kind == protocol::BlockPiece::missing) throw failed(p, map, "not there");
      bytes_ += e.bytes.size();
      try {
        decoder.feed(e.bytes, sink);
        if (e.kind == protocol::BlockPiece::last) decoder.finish();
      } catch (const corrupt_chunk& x) {
        // Damaged on the way or in the sender's memory: the map output is computed again.
        decoder.reset();
        throw failed(p, map, x.what());
      }
      if (e.kind == protocol::BlockPiece::last) break;
    }
    --p.outstanding;
    ++read_;
  }

  std::uint64_t bytes() const noexcept override { return bytes_; }

 private:
  struct Peer {
    std::string address;
    std::shared_ptr<net::Connection> conn;
    std::size_t outstanding = 0;  // buckets asked of it and not yet read
    std::string payload;           // its last block_data frame, which `entries` view
    std::vector<protocol::BlockEntry> entries;
    std::size_t at = 0;
  };

  // Reads p's next block_data frame.
  void receive(Peer& p, std::size_t map) {
    try {
      std::optional<net::Frame> frame = p.conn->receive(60s);
      if (!frame) throw failed(p, map, "no answer in 60 s");
      if (frame->type != net::FrameType::block_data)
        throw failed(p, map, fmt::format("a {} frame instead of block_data", net::frame_type_name(frame->type)));
      p.payload = std::move(frame->payload);
      p.entries = protocol::decode_blocks(p.payload);
      p.at = 0;
      if (p.entries.empty()) throw failed(p, map, "a block_data frame with no block");
    } catch (const serialization_error& e) {
      throw failed(p, map, e.what());
    } catch (const net::net_error& e) {
      // Refused, reset, timed out: the executor that held the block is gone or unreachable.
      throw failed(p, map, e.what());
    }
  }

  fetch_failure failed(Peer& p, std::size_t map, const std::string& why) {
    if (p.conn) p.conn->close(why);
    return fetch_failure(fmt::format("fetch failure: shuffle {} map partition {} bucket {} from {}: {}",
                                     shuffle_, map, reduce_, p.address, why),
                         shuffle_, map, p.address);
  }

  // Asks each executor for its buckets among the next ones in map order.
  void request_more() {
    std::size_t end = std::min(maps_.size(), read_ + kBlocksAhead);
    if (!size_.empty()) {
      // At least one bucket, however large; then as many as fit in the bytes window.
      std::size_t last = requested_;
      while (last < end && (last == read_ || bytes_ahead_ + size_[last] <= kBytesAhead)) bytes_ahead_ += size_[last++];
      end = last;
    }
    if (requested_ >= end) return;
    std::vector<protocol::Fetch> asks(peers_.size());
    for (std::size_t i = requested_; i < end; ++i) asks[owner_[i]].maps.push_back(maps_[i]);
    for (std::size_t k = 0; k < peers_.size(); ++k) {
      if (asks[k].maps.empty()) continue;
      Peer& p = peers_[k];
      try {
        if (!p.conn) p.conn = pool_.checkout(p.address);
        asks[k].shuffle = shuffle_;
        asks[k].reduce = reduce_;
        p.conn->send(net::FrameType::fetch_block, protocol::encode(asks[k]));
        p.outstanding += asks[k].maps.size();
      } catch (const net::net_error& e) {
        throw failed(p, asks[k].maps.front(), e.what());
      }
    }
    requested_ = end;
  }

  PeerConnections& pool_;
  int shuffle_;
  std::size_t reduce_;
  std::vector<std::size_t> maps_;
  std::vector<std::size_t> owner_;  // per position in maps_: its executor in peers_
  std::vector<Peer> peers_;
  std::size_t requested_ = 0;  // positions in maps_ asked for
  std::size_t read_ = 0;       // positions in maps_ handed out
  std::uint64_t bytes_ = 0;
  std::vector<std::uint64_t> size_;  // per position in maps_, when known
  std::vector<bool> skipped_;        // per map partition: known empty
  std::uint64_t bytes_ahead_ = 0;    // known bytes asked for and not yet read
};

// Opens the block streams of one task's reads from the locations sent with it.
class PeerFetcher final : public BucketFetcher {
 public:
  PeerFetcher(PeerConnections& peers, const std::vector<protocol::ShuffleLocations>& where, std::size_t partition)
      : peers_(peers), partition_(partition) {
    for (const auto& s : where) where_[s.shuffle] = &s;
  }

  std::unique_ptr<BlockStream> open(int shuffle, std::size_t reduce, std::vector<std::size_t> maps) override {
    auto it = where_.find(shuffle);
    if (it == where_.end())
      throw error(fmt::format("shuffle {}: no locations were sent with the task", shuffle));
    // The sizes the driver sent are those of the task's own partition's bucket.
    std::string_view sizes = reduce == partition_ ? std::string_view(it->second->sizes) : std::string_view();
    return std::make_unique<PeerBlockStream>(peers_, shuffle, reduce, std::move(maps), it->second->addresses, sizes);
  }

 private:
  PeerConnections& peers_;
  std::size_t partition_;
  std::map<int, const protocol::ShuffleLocations*> where_;
};

// Broadcast values in an executor: each is asked of the driver once, on first use, decoded by
// the first task that needs it, and kept for the life of the process.
class BroadcastCache final : public BroadcastSource {
 public:
  explicit BroadcastCache(std::function<void(std::uint64_t)> ask_driver) : ask_driver_(std::move(ask_driver)) {}

  std::shared_ptr<const void> broadcast_value(std::uint64_t id, BroadcastDecoder decode) override {
    std::unique_lock lock(mutex_);
    Entry& e = entries_[id];
    if (e.value) return e.value;
    if (!e.asked) {
      e.asked = true;
      lock.unlock();
      try {
        ask_driver_(id);
      } catch (...) {
        lock.lock();
        e.asked = false;
        throw;
      }
      lock.lock();
    }
    if (!cv_.wait_for(lock, 60s, [&] { return e.value || e.bytes || !e.error.empty(); }))
      throw error(fmt::format("broadcast {}: the driver sent no value within 60 s", id));
    if (!e.error.empty()) throw error(e.error);
    if (!e.value) {
      e.value = decode(*e.bytes);
      e.bytes.reset();
    }
    return e.value;
  }

  // The driver destroyed the value: tasks running now keep theirs; later ones ask again.
  void forget(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it != entries_.end() && (it->second.value || it->second.bytes || !it->second.error.empty()))
      entries_.erase(it);
  }

  // The driver's answer, from the thread that serves the driver's connection.
  void arrived(std::uint64_t id, std::optional<std::string> bytes) {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[id];
    if (bytes)
      e.bytes = std::move(bytes);
    else
      e.error = fmt::format("broadcast {} does not exist in the driver (was it destroyed?)", id);
    cv_.notify_all();
  }

 private:
  struct Entry {
    bool asked = false;
    std::optional<std::string> bytes;
    std::shared_ptr<const void> value;
    std::string error;
  };
  std::function<void(std::uint64_t)> ask_driver_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> entries_;
};

class Executor {
 public:
  explicit Executor(const ExecutorOptions& o)
      : options_(o),
        secret_(net::load_secret()),
        peers_(secret_),
        broadcasts_([this](std::uint64_t id) {
          driver_->send(net::FrameType::fetch_broadcast, protocol::encode(protocol::BroadcastRequest{id}));
        }) {}

  [[noreturn]] void run() {
    auto [driver_host, driver_port] = parse_spate_url(options_.driver_url);
    std::string host = options_.host.empty() ? address_facing(driver_host, driver_port) : options_.host;
    start_block_server(host);
    driver_ = connect_to_driver(driver_host, driver_port);
    protocol::Registration reg;
    reg.executor_id = options_.id.empty() ? fmt::format("{}:{}", host, ::getpid()) : options_.id;
    reg.block_host = host;
    reg.block_port = blocks_server_->port();
    reg.cores = options_.cores;
    reg.fingerprint = executable_fingerprint();
    reg.executable = executable_path();
    reg.pid = static_cast<std::uint64_t>(::getpid());
    reg.memory = options_.memory ? options_.memory : default_memory_budget();
    blocks_.set_budget(reg.memory);
    driver_->send(net::FrameType::register_executor, protocol::encode(reg));
    report_crashes_as(reg.executor_id);
    for (std::size_t i = 0; i < options_.cores; ++i) workers_.emplace_back([this] { work(); });
    serve_driver();
  }

 private:
  // Executors may start before their driver listens (a launcher starts all at once): retry a
  // refused connection for a while. A refused handshake (wrong secret) is final.
  std::shared_ptr<net::Connection> connect_to_driver(const std::string& host, std::uint16_t port) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      try {
        return net::Connection::connect(host, port, secret_, net::PeerRole::executor, 30s);
      } catch (const net::auth_error&) {
        throw;
      } catch (const net::net_error& e) {
        if (std::chrono::steady_clock::now() > deadline)
          throw error(fmt::format("cannot reach the driver at {}:{}: {}", host, port, e.what()));
        std::this_thread::sleep_for(200ms);
      }
    }
  }

  void start_block_server(const std::string& host) {
    net::ServerOptions so;
    so.host = host;
    so.port = 0;
    so.secret = secret_;
    net::ServerHandlers h;
    h.on_frame = [this](const std::shared_ptr<net::Connection>& c, net::Frame&& f) {
      // Throwing closes this one peer's connection, logged; the server serves the others.
      if (f.type != net::FrameType::fetch_block)
        throw net::net_error(fmt::format("unexpected {} frame from block reader {}", net::frame_type_name(f.type),
                                         c->peer()));
      // The buckets go out in the order asked, many to a frame up to kBlockFrameBytes; a larger
      // one in pieces, cut anywhere (the reducer puts chunks back together).
      auto req = protocol::decode_fetch(f.payload);
      Writer batch;
      auto flush = [&] {
        c->send(net::FrameType::block_data, batch.view());
        batch.clear();
      };
      for (std::uint64_t m : req.maps) {
        auto out = blocks_.map_output(req.shuffle, m);
        if (!out || req.reduce >= out->num_buckets()) {
          protocol::append_block(batch, m, protocol::BlockPiece::missing);
        } else if (std::uint64_t total = out->bucket_size(req.reduce); total == 0) {
          protocol::append_block(batch, m, protocol::BlockPiece::last);
        } else {
          std::uint64_t sent = 0;
          out->read_bucket(req.reduce, [&](std::string_view piece) {
            while (!piece.empty()) {
              if (batch.size() >= kBlockFrameBytes) flush();
              std::size_t take = std::min(piece.size(), kBlockFrameBytes - batch.size());
              sent += take;
              protocol::append_block(batch, m, sent == total ? protocol::BlockPiece::last : protocol::BlockPiece::more,
                                     piece.substr(0, take));
              piece.remove_prefix(take);
            }
          });
          if (sent != total)
            throw error(fmt::format("shuffle {} map partition {} bucket {}: {} bytes read back of {}", req.shuffle, m,
                                    req.reduce, sent, total));
        }
        if (batch.size() >= kBlockFrameBytes) flush();
      }
      if (batch.size() > 0) flush();
    };
    h.on_log = [](const std::string&) {};  // refused peers are the driver's to report
    blocks_server_ = std::make_unique<net::Server>(so, h);
  }

  [[noreturn]] void serve_driver() {
    auto last_heard = std::chrono::steady_clock::now();
    // Bytes count as word from the driver: a large launch or broadcast takes longer than a
    // heartbeat interval to arrive whole.
    std::uint64_t heard_bytes = driver_->bytes_received();
    for (;;) {
      std::optional<net::Frame> frame;
      try {
        frame = driver_->receive(heartbeat_interval());
      } catch (const std::exception& e) {
        quit(0, "");  // the driver went away: nothing left to do
      }
      auto now = std::chrono::steady_clock::now();
      if (!frame) {
        if (driver_->bytes_received() != heard_bytes) {
          heard_bytes = driver_->bytes_received();
          last_heard = now;
          continue;
        }
        // A driver whose host dropped off the network closes nothing: its silence is the sign.
        if (now - last_heard > heartbeat_timeout())
          quit(0, fmt::format("spate executor: no word from the driver for {} ms; ending",
                              heartbeat_timeout().count()));
        continue;
      }
      last_heard = now;
      heard_bytes = driver_->bytes_received();
      try {
        handle_driver_frame(*frame);
      } catch (const std::exception& e) {
        // A frame we cannot decode means the two ends no longer agree: the connection (and with
        // it this executor, which serves one driver) ends, saying why.
        quit(4, fmt::format("spate executor: closing the driver connection: bad {} frame: {}",
                            net::frame_type_name(frame->type), e.what()));
      }
    }
  }

  void handle_driver_frame(net::Frame& f) {
    auto* frame = &f;
    {
      switch (frame->type) {
        case net::FrameType::launch_task: {
          std::lock_guard lock(mutex_);
          queue_.push_back(std::move(frame->payload));
          cv_.notify_one();
          break;
        }
        case net::FrameType::executor_registered: {
          auto w = protocol::decode_welcome(frame->payload);
          heartbeat_interval_ms_ = w.heartbeat_interval_ms;
          heartbeat_timeout_ms_ = w.heartbeat_timeout_ms;
          blocks_.set_compression(w.compression, w.compression);
          if (!heartbeats_.joinable()) heartbeats_ = std::thread([this] { send_heartbeats(); });
          break;
        }
        case net::FrameType::kill_task: {
          auto k = protocol::decode_kill_task(frame->payload);
          std::lock_guard lock(mutex_);
          if (auto it = kill_flags_.find(k.task_id); it != kill_flags_.end()) {
            it->second->store(true);
          } else {
            // Not started yet (or already ended): a queued task sees this when it starts. The
            // driver kills few tasks; a bound keeps ended ones from piling up.
            if (killed_early_.size() > 4096) killed_early_.clear();
            killed_early_.insert(k.task_id);
          }
          break;
        }
        case net::FrameType::remove_blocks: {
          auto r = protocol::decode_remove_blocks(frame->payload);
          using Kind = protocol::RemoveBlocks::Kind;
          if (r.kind == Kind::cached) blocks_.drop_cached(r.id);
          if (r.kind == Kind::shuffle) blocks_.drop_shuffle(static_cast<int>(r.id));
          if (r.kind == Kind::broadcast) broadcasts_.forget(r.id);
          if (r.kind == Kind::idle_shuffle) blocks_.shuffle_idle(static_cast<int>(r.id));
          break;
        }
        case net::FrameType::broadcast_data: {
          auto b = protocol::decode_broadcast_data(frame->payload);
          broadcasts_.arrived(b.id, std::move(b.bytes));
          break;
        }
        case net::FrameType::broadcast_missing:
          broadcasts_.arrived(protocol::decode_broadcast_request(frame->payload).id, std::nullopt);
          break;
        case net::FrameType::registration_refused:
          quit(3, "spate executor: the driver refused this executor: " + frame->payload);
        case net::FrameType::shutdown:
          quit(0, "");
        case net::FrameType::heartbeat:
          break;
        default:
          throw net::net_error(fmt::format("a driver does not send {} frames", net::frame_type_name(frame->type)));
      }
    }
  }

  std::chrono::milliseconds heartbeat_interval() const {
    return std::chrono::milliseconds(heartbeat_interval_ms_.load());
  }
  std::chrono::milliseconds heartbeat_timeout() const {
    return std::chrono::milliseconds(heartbeat_timeout_ms_.load());
  }

  // Tells the driver this executor is alive, also while every worker is deep in a task.
  [[noreturn]] void send_heartbeats() {
    for (;;) {
      std::this_thread::sleep_for(heartbeat_interval());
      try {
        driver_->send(net::FrameType::heartbeat,
                      protocol::encode(protocol::Heartbeat{blocks_.memory().used(), blocks_.budget()}));
      } catch (const std::exception&) {
        quit(0, "");  // the driver went away
      }
    }
  }

  void work() {
    for (;;) {
      std::string payload;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        payload = std::move(queue_.front());
        queue_.pop_front();
      }
      run_task(payload);
    }
  }

  void run_task(const std::string& payload) {
    std::uint64_t task_id = 0;
    try {
      protocol::Launch l = protocol::decode_launch(payload);
      task_id = l.task_id;
      auto kill = std::make_shared<std::atomic<bool>>(false);
      {
        std::lock_guard lock(mutex_);
        if (killed_early_.erase(task_id)) kill->store(true);
        kill_flags_[task_id] = kill;
      }
      struct Forget {
        Executor& self;
        std::uint64_t id;
        ~Forget() {
          std::lock_guard lock(self.mutex_);
          self.kill_flags_.erase(id);
        }
      } forget{*this, task_id};
      PeerFetcher fetcher(peers_, l.shuffles, l.partition);
      TaskContext tc(blocks_, l.stage, l.partition, l.attempt);
      tc.set_fetcher(&fetcher);
      tc.set_broadcasts(&broadcasts_);
      tc.set_kill_flag(kill.get());
      CurrentTaskScope current(tc);
      tc.check_killed();
      Reader in(l.stage_bytes);
      GraphReader g(in);
      protocol::Result r;
      r.task_id = task_id;
      // The partition comes from the wire: one the stage does not have is refused before any
      // node indexes its per-partition state with it.
      auto check_partition = [&](std::size_t count) {
        if (l.partition >= count)
          throw error(fmt::format("task {} of stage {}: partition {} does not exist: the stage has {}",
                                  l.task_id, l.stage, l.partition, count));
      };
      if (l.is_map) {
        auto dep = g.shuffle();
        check_partition(dep->num_maps());
        dep->run_map_task(tc, l.partition);
        // The driver hands these to reducers, which then never ask for an empty bucket.
        if (auto out = blocks_.map_output(dep->shuffle_id(), l.partition)) {
          r.bucket_sizes.resize(out->num_buckets());
          for (std::size_t b = 0; b < out->num_buckets(); ++b)
            r.bucket_sizes[b] = static_cast<char>(protocol::compress_size(out->bucket_size(b)));
        }
      } else {
        auto handler = read_registered<ResultHandler>(g, TypeKind::handler);
        check_partition(handler->num_partitions());
        handler->run_task(tc, l.partition);
        Writer w;
        handler->save_result(l.partition, w);
        r.result = std::move(w).take();
      }
      r.counters = tc.counters();
      r.accumulators = tc.accumulator_updates();
      r.cached = tc.cached_nodes();
      driver_->send(net::FrameType::task_result, protocol::encode(r));
    } catch (const fetch_failure& f) {
      protocol::Failure out;
      out.task_id = task_id;
      out.message = f.what();
      out.fetch_failed = true;
      out.shuffle = f.shuffle();
      out.map = f.map();
      out.address = f.executor();
      report_failure(out);
    } catch (const std::exception& e) {
      protocol::Failure out;
      out.task_id = task_id;
      out.input_error = dynamic_cast<const input_error*>(&e) != nullptr;
      out.message = e.what();
      report_failure(out);
    } catch (...) {
      // User code may throw anything; the task fails, the executor stays.
      protocol::Failure out;
      out.task_id = task_id;
      out.message = "unknown exception (not derived from std::exception)";
      report_failure(out);
    }
  }

  void report_failure(const protocol::Failure& f) {
    try {
      driver_->send(net::FrameType::task_failed, protocol::encode(f));
    } catch (...) {
      quit(0, "");
    }
  }

  [[noreturn]] static void quit(int code, const std::string& message) {
    if (!message.empty()) std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    // Worker threads may be mid-task; the process ends without unwinding them.
    std::_Exit(code);
  }

  ExecutorOptions options_;
  std::string secret_;
  PeerConnections peers_;
  BroadcastCache broadcasts_;
  BlockStore blocks_;
  std::unique_ptr<net::Server> blocks_server_;
  std::shared_ptr<net::Connection> driver_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::map<std::uint64_t, std::shared_ptr<std::atomic<bool>>> kill_flags_;  // tasks that run, by id
  std::set<std::uint64_t> killed_early_;  // kills that came before their task started
  std::vector<std::thread> workers_;
  // Until the driver's welcome says otherwise.
  std::atomic<std::uint64_t> heartbeat_interval_ms_{1000};
  std::atomic<std::uint64_t> heartbeat_timeout_ms_{60000};
  std::thread heartbeats_;
};

}  // namespace

void run_executor(const ExecutorOptions& options) {
  try {
    Executor(options).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spate executor: %s\n", e.what());
    std::fflush(stderr);
    std::_Exit(2);
  }
}

}  // namespace spate::detail
