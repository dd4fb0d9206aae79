// HMAC-SHA256 proofs, handshake payloads and the secret loader (see auth.hpp).
#include "net/auth.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "net/net_error.hpp"
#include "spate/error.hpp"
#include "spate/serialization.hpp"

namespace spate::detail::net {
namespace {

bool is_known_role(std::uint8_t value) {
  return peer_role_name(static_cast<PeerRole>(value)) != "unknown";
}

}  // namespace

std::string_view peer_role_name(PeerRole role) noexcept {
  switch (role) {
    case PeerRole::executor:
      return "executor";
    case PeerRole::fetcher:
      return "fetcher";
    case PeerRole::driver:
      return "driver";
  }
  return "unknown";
}

void init_openssl() {
  static const bool initialised = OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;
  (void)initialised;  // on failure, the call that follows reports it
}

Nonce fresh_nonce() {
  init_openssl();
  Nonce nonce;
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    throw net_error("spate: OpenSSL's RAND_bytes could not provide a handshake nonce");
  }
  return nonce;
}

Proof compute_proof(std::string_view secret, HandshakeSide side, const Nonce& own,
                    const Nonce& peer) {
  std::array<unsigned char, 1 + 2 * kNonceBytes> message;
  message[0] = static_cast<unsigned char>(side);
  std::memcpy(message.data() + 1, own.data(), kNonceBytes);
  std::memcpy(message.data() + 1 + kNonceBytes, peer.data(), kNonceBytes);
  // HMAC() wants a non-null key pointer even for an empty key (no secret configured).
  static constexpr unsigned char kNoKey = 0;
  const void* key = secret.empty() ? &kNoKey : static_cast<const void*>(secret.data());
  Proof proof;
  unsigned int length = 0;
  init_openssl();
  if (HMAC(EVP_sha256(), key, static_cast<int>(secret.size()), message.data(), message.size(),
           proof.data(), &length) == nullptr ||
      length != kProofBytes) {
    throw net_error("spate: OpenSSL's HMAC-SHA256 failed while computing a handshake proof");
  }
  return proof;
}

bool verify_proof(std::string_view secret, HandshakeSide prover, const Nonce& prover_nonce,
                  const Nonce& verifier_nonce, std::string_view proof) {
  if (proof.size() != kProofBytes) return false;
  const Proof expected = compute_proof(secret, prover, prover_nonce, verifier_nonce);
  return CRYPTO_memcmp(expected.data(), proof.data(), kProofBytes) == 0;
}

std::string_view wire_mode_name(WireMode mode) noexcept {
  return mode == WireMode::sealed ? "sealed" : "plain";
}

std::string encode_hello(const Hello& hello) {
  Writer w;
  const auto role = static_cast<std::uint8_t>(hello.role);
  w.write_bytes(&role, 1);
  w.write_bytes(hello.nonce.data(), hello.nonce.size());
  const auto mode = static_cast<std::uint8_t>(hello.mode);
  w.write_bytes(&mode, 1);
  return std::move(w).take();
}

Hello decode_hello(std::string_view payload) {
  if (payload.size() != 2 + kNonceBytes) {
    throw net_error(fmt::format("spate: malformed hello: {} payload bytes, expected {}",
                                payload.size(), 2 + kNonceBytes));
  }
  Reader r(payload);
  std::uint8_t role = 0;
  r.read_bytes(&role, 1);
  if (!is_known_role(role)) {
    throw net_error(fmt::format("spate: malformed hello: unknown peer role {}", role));
  }
  Hello hello;
  hello.role = static_cast<PeerRole>(role);
  r.read_bytes(hello.nonce.data(), kNonceBytes);
  std::uint8_t mode = 0;
  r.read_bytes(&mode, 1);
  if (mode > static_cast<std::uint8_t>(WireMode::sealed)) {
    throw net_error(fmt::format("spate: malformed hello: unknown wire mode {}", mode));
  }
  hello.mode = static_cast<WireMode>(mode);
  return hello;
}

std::string encode_challenge(const Nonce& nonce) {
  return std::string(reinterpret_cast<const char*>(nonce.data()), nonce.size());
}

Nonce decode_challenge(std::string_view payload) {
  if (payload.size() != kNonceBytes) {
    throw net_error(fmt::format("spate: malformed challenge: {} payload bytes, expected {}",
                                payload.size(), kNonceBytes));
  }
  Nonce nonce;
  std::memcpy(nonce.data(), payload.data(), kNonceBytes);
  return nonce;
}

std::string encode_proof(const Proof& proof) {
  return std::string(reinterpret_cast<const char*>(proof.data()), proof.size());
}

std::string encode_refusal(std::string_view reason) {
  Writer w;
  const std::string_view cut = reason.substr(0, kMaxRefusalBytes);
  w.write_varint(cut.size());
  w.write_bytes(cut.data(), cut.size());
  return std::move(w).take();
}

std::string decode_refusal(std::string_view payload) {
  try {
    Reader r(payload);
    const std::uint64_t n = r.read_varint();
    if (n > kMaxRefusalBytes || n != r.remaining()) {
      throw net_error(
          fmt::format("spate: malformed auth_refused: reason of {} bytes in a payload of {} bytes",
                      n, payload.size()));
    }
    return std::string(r.read_view(static_cast<std::size_t>(n)));
  } catch (const serialization_error& e) {
    throw net_error(fmt::format("spate: malformed auth_refused: {}", e.what()));
  }
}

std::string load_secret() {
  return load_secret_from(std::getenv("SPATE_SECRET"), std::getenv("SPATE_SECRET_FILE"),
                          std::getenv("SPATE_SECRET_FD"));
}

namespace {

// Reads all of `fd` from its start and closes it; what a local-cluster driver wrote into the
// memfd it handed its executor.
std::string read_secret_descriptor(const char* text) {
  char* end = nullptr;
  errno = 0;
  long fd = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || fd < 0 || fd > INT_MAX)
    throw config_error(fmt::format("spate: SPATE_SECRET_FD '{}' is not a file descriptor", text));
  std::string secret;
  char buf[4096];
  ::lseek(static_cast<int>(fd), 0, SEEK_SET);  // a memfd written by its maker; fails harmlessly on a pipe
  for (;;) {
    ssize_t n = ::read(static_cast<int>(fd), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(static_cast<int>(fd));
      throw config_error(fmt::format("spate: SPATE_SECRET_FD {}: cannot read: {}", fd, std::strerror(err)));
    }
    if (n == 0) break;
    secret.append(buf, static_cast<std::size_t>(n));
  }
  ::close(static_cast<int>(fd));  // nothing this process starts inherits it
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw config_error(fmt::format("spate: SPATE_SECRET_FD {} holds no secret", fd));
  return secret;
}

}  // namespace

std::string load_secret_from(const char* secret_value, const char* secret_file, const char* secret_fd) {
  const bool has_value = secret_value != nullptr && *secret_value != '\0';
  const bool has_file = secret_file != nullptr && *secret_file != '\0';
  const bool has_fd = secret_fd != nullptr && *secret_fd != '\0';
  if (has_value + has_file + has_fd > 1) {
    throw config_error(fmt::format(
        "spate: more than one of SPATE_SECRET, SPATE_SECRET_FILE{} and SPATE_SECRET_FD is set; set only one",
        has_file ? fmt::format(" ({})", secret_file) : std::string()));
  }
  if (has_value) return secret_value;
  if (has_fd) return read_secret_descriptor(secret_fd);
  if (!has_file) return {};
  const bool from_stdin = std::string_view(secret_file) == "-";
  std::FILE* file = from_stdin ? stdin : std::fopen(secret_file, "rb");
  if (file == nullptr) {
    throw config_error(fmt::format("spate: SPATE_SECRET_FILE {}: cannot open: {}", secret_file,
                                   std::strerror(errno)));
  }
  std::string secret;
  char buf[4096];
  std::size_t n = 0;
  if (from_stdin) {
    // One line: the secret ends at the first newline, so that stdin stays usable after it.
    int c;
    while ((c = std::fgetc(file)) != EOF && c != '\n') secret.push_back(static_cast<char>(c));
  } else {
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) secret.append(buf, n);
  }
  const int read_errno = std::ferror(file) ? errno : 0;
  if (!from_stdin) std::fclose(file);
  if (read_errno != 0) {
    throw config_error(fmt::format("spate: SPATE_SECRET_FILE {}: cannot read: {}", secret_file,
                                   std::strerror(read_errno)));
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    throw config_error(fmt::format("spate: SPATE_SECRET_FILE {} is empty", secret_file));
  }
  return secret;
}

}  // namespace spate::detail::net
