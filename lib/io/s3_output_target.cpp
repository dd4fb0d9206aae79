// Output under an s3:// prefix: each part is a multipart upload that its task leaves open; the
// driver completes one upload per partition, then writes _SUCCESS, so that a reader that sees
// _SUCCESS sees every part, and a failed or killed job leaves no _SUCCESS (and, once aborted,
// no parts: an upload that is never completed never becomes an object).
#include <fmt/format.h>

#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "io/output_target.hpp"
#include "s3/s3_client.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

/// Parts are uploaded in pieces of this size (S3's minimum is 5 MiB, except for the last).
constexpr std::size_t kUploadPieceBytes = 8 << 20;

/// What a task hands the driver: the upload id and its pieces' ETags, one a line.
struct Receipt {
  std::string upload_id;
  std::vector<std::string> etags;

  std::string encode() const {
    std::string out = upload_id;
    for (const auto& e : etags) out += "\n" + e;
    return out;
  }
  static Receipt decode(const std::string& text) {
    Receipt r;
    std::istringstream in(text);
    std::getline(in, r.upload_id);
    for (std::string line; std::getline(in, line);) r.etags.push_back(line);
    return r;
  }
};

class S3OutputTarget;

/// One attempt's part: a multipart upload fed piece by piece; aborted unless committed.
class S3Part final : public PartOutputSink::Part {
 public:
  S3Part(S3OutputTarget& target, std::size_t partition, std::string key);
  ~S3Part() override;
  S3Part(const S3Part&) = delete;
  S3Part& operator=(const S3Part&) = delete;

  void write_line(std::string_view line) override {
    buf_ += line;
    buf_ += '\n';
    if (buf_.size() >= kUploadPieceBytes) upload_piece();
  }
  void write(std::string_view bytes) override {
    buf_ += bytes;
    if (buf_.size() >= kUploadPieceBytes) upload_piece();
  }
  void commit() override;

 private:
  void upload_piece() {
    if (receipt_.upload_id.empty()) receipt_.upload_id = client_.create_multipart(bucket_, key_);
    receipt_.etags.push_back(client_.upload_part(bucket_, key_, receipt_.upload_id,
                                                 static_cast<int>(receipt_.etags.size() + 1), buf_));
    buf_.clear();
  }

  S3OutputTarget& target_;
  std::size_t partition_;
  S3Client client_;
  std::string bucket_;
  std::string key_;
  std::string buf_;
  Receipt receipt_;
  bool committed_ = false;
};

class S3OutputTarget final : public OutputTarget {
 public:
  S3OutputTarget(const std::string& uri, bool prepare) : uri_(uri), prepared_(prepare) {
    loc_ = parse_s3_uri(uri);
    if (!loc_.key.empty() && loc_.key.back() != '/') loc_.key += '/';
    if (prepare) this->prepare();
  }

  const std::string& dir() const noexcept override { return uri_; }
  const S3Location& location() const noexcept { return loc_; }

  std::unique_ptr<PartOutputSink::Part> open_part(std::size_t partition, int,
                                                  std::string_view suffix) override {
    return std::make_unique<S3Part>(*this, partition,
                                    loc_.key + PartOutputSink::part_name(partition) + std::string(suffix));
  }

  std::string receipt(std::size_t partition) const override {
    std::lock_guard lock(mu_);
    auto it = receipts_.find(partition);
    return it == receipts_.end() ? "" : it->second;
  }

  bool accept(std::size_t partition, const std::string& receipt) override {
    if (receipt.empty()) return false;
    {
      std::lock_guard lock(mu_);
      auto [it, fresh] = receipts_.emplace(partition, receipt);
      if (fresh || it->second == receipt) return true;
    }
    // Another attempt of this partition was accepted first: its twin is never published.
    abort_upload(partition, Receipt::decode(receipt).upload_id);
    return false;
  }

  /// A task's part is uploaded: the driver (local modes) accepts it; an executor keeps it for
  /// its result.
  void committed(std::size_t partition, const std::string& receipt) {
    if (prepared_) {
      accept(partition, receipt);
      return;
    }
    std::lock_guard lock(mu_);
    receipts_[partition] = receipt;
  }

  void finish(std::size_t partitions) override {
    try {
      S3Client client(S3Config::from_environment());
      std::map<std::size_t, std::string> accepted;
      {
        std::lock_guard lock(mu_);
        accepted = receipts_;
      }
      // A part whose upload never reached the driver would be missing under a _SUCCESS.
      for (std::size_t p = 0; p < partitions; ++p)
        if (!accepted.contains(p))
          throw io_error(fmt::format("s3://{}/{}: no upload of {} reached the driver; nothing is "
                                     "published", loc_.bucket, loc_.key,
                                     PartOutputSink::part_name(p)));
      for (const auto& [p, text] : accepted) {
        Receipt r = Receipt::decode(text);
        std::string key = loc_.key + PartOutputSink::part_name(p);
        client.complete_multipart(loc_.bucket, key, r.upload_id, r.etags);
        std::lock_guard lock(mu_);
        completed_.insert(p);
      }
      // Last: a reader that sees _SUCCESS sees every part.
      client.put(loc_.bucket, loc_.key + "_SUCCESS", "");
    } catch (...) {
      abort();
      throw;
    }
  }

  void abort() noexcept override {
    std::map<std::size_t, std::string> accepted;
    std::set<std::size_t> completed;
    {
      std::lock_guard lock(mu_);
      accepted = receipts_;
      completed = completed_;
    }
    try {
      S3Client client(S3Config::from_environment());
      for (const auto& [p, text] : accepted) {
        std::string key = loc_.key + PartOutputSink::part_name(p);
        try {
          if (completed.count(p) != 0) {
            client.remove(loc_.bucket, key);
          } else {
            client.abort_multipart(loc_.bucket, key, Receipt::decode(text).upload_id);
          }
        } catch (const std::exception&) {
          // Best effort: an upload never completed is invisible, and S3 expires it.
        }
      }
    } catch (const std::exception&) {
    }
  }

  /// Aborts one upload of partition, best effort.
  void abort_upload(std::size_t partition, const std::string& upload_id) noexcept {
    try {
      S3Client client(S3Config::from_environment());
      client.abort_multipart(loc_.bucket, loc_.key + PartOutputSink::part_name(partition),
                             upload_id);
    } catch (const std::exception&) {
    }
  }

 private:
  /// Refuses a prefix that holds a complete output or anything but part objects, and removes
  /// the part objects an earlier job that did not finish left.
  void prepare() {
    S3Client client(S3Config::from_environment());
    auto objects = client.list_all(loc_.bucket, loc_.key, "");
    static const std::regex kPart("part-[0-9]{5,}(\\.gz|\\.zst)?");
    std::vector<std::string> parts, others;
    for (const auto& o : objects) {
      std::string name = o.key.substr(loc_.key.size());
      if (name == "_SUCCESS") {
        throw io_error(fmt::format(
            "output s3://{}/{} already holds a complete output (s3://{}/{}_SUCCESS exists); "
            "nothing was written: remove it or choose another prefix",
            loc_.bucket, loc_.key, loc_.bucket, loc_.key));
      }
      (std::regex_match(name, kPart) ? parts : others).push_back(o.key);
    }
    if (!others.empty()) {
      throw io_error(fmt::format(
          "output s3://{}/{} holds {} object(s) that are not part files of an earlier job (e.g. "
          "'{}'); nothing was written: choose an empty prefix",
          loc_.bucket, loc_.key, others.size(), others.front()));
    }
    // An earlier job that did not finish: its parts never had a _SUCCESS; clear them.
    for (const auto& key : parts) client.remove(loc_.bucket, key);
  }

  std::string uri_;
  S3Location loc_;
  bool prepared_;
  mutable std::mutex mu_;
  std::map<std::size_t, std::string> receipts_;  // driver: accepted; executor: committed here
  std::set<std::size_t> completed_;              // driver: published by finish()
};

S3Part::S3Part(S3OutputTarget& target, std::size_t partition, std::string key)
    : target_(target),
      partition_(partition),
      client_(S3Config::from_environment()),
      bucket_(target.location().bucket),
      key_(std::move(key)) {
  buf_.reserve(kUploadPieceBytes + (64 << 10));
}

S3Part::~S3Part() {
  if (committed_ || receipt_.upload_id.empty()) return;
  try {
    client_.abort_multipart(bucket_, key_, receipt_.upload_id);
  } catch (const std::exception&) {
    // Best effort: an upload never completed is invisible, and S3 expires it.
  }
}

void S3Part::commit() {
  // The last piece may be short (even empty, for an empty partition): S3 allows that.
  upload_piece();
  committed_ = true;
  target_.committed(partition_, receipt_.encode());
}

}  // namespace

std::unique_ptr<OutputTarget> make_s3_output_target(const std::string& uri, bool prepare) {
  return std::make_unique<S3OutputTarget>(uri, prepare);
}

}  // namespace spate::detail
