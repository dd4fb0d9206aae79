// The record layer: after the handshake (auth.hpp), every frame between two processes that hold
// the cluster secret is sealed with AES-256-GCM. Internal; included as "net/record_layer.hpp".
//
// Keys. HKDF-SHA256 (RFC 5869) over the cluster secret, salted with both handshake nonces
// (client's, then server's), gives each connection keys of its own: a 32-byte key and a 12-byte
// IV per direction. A recorded connection tells nothing about another, and the keys never
// travel.
//
// Nonces. Each direction counts its frames from 0; the count, big-endian, is XORed into the last
// 8 bytes of that direction's IV (as TLS 1.3 does). The receiver counts the frames it opens, so a
// frame dropped, replayed, reordered or injected is opened under the wrong nonce (or with the
// wrong key) and fails its tag: the connection closes, and the usual recovery takes over.
//
// A sealed frame on the wire keeps the 8-byte frame header (frame.hpp); its length counts the
// 16-byte tag that follows the ciphertext, and the whole header is the AEAD's associated data,
// so neither type nor length can be changed. Types and sizes travel in clear (as in TLS, sizes
// do): an observer learns that blocks flow, never what they hold.
//
// Why an AEAD layer of our own rather than TLS 1.3 with an external PSK: a Connection does its
// own non-blocking I/O with a deadline on every wait, and asio::ssl's streams would have to be
// driven through WANT_READ/WANT_WRITE by hand to keep those deadlines; the mutual HMAC handshake
// already authenticates both ends with the secret, so the keys follow from it with one HKDF; and
// TLS would bring a second handshake and certificate handling that a shared-secret cluster does
// not use. The cipher is the one TLS would pick (AES-256-GCM, AES-NI on x86), from libcrypto.
// What is given up: certificates for sites with their own CA (the secret is the credential).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/auth.hpp"
#include "net/frame.hpp"

namespace spate::detail::net {

/// Bytes of the GCM tag after each sealed frame's ciphertext.
inline constexpr std::size_t kTagBytes = 16;
/// The most plaintext one sealed frame carries: a larger message travels as continued frames,
/// so that sealing needs a buffer of this size, not of the message's.
inline constexpr std::size_t kMaxSealedPlaintext = std::size_t{1} << 20;

/// One direction's key and IV.
struct DirectionKeys {
  std::array<unsigned char, 32> key{};
  std::array<unsigned char, 12> iv{};
};

/// The keys of one connection, as one end sees them.
struct SessionKeys {
  DirectionKeys send;
  DirectionKeys receive;
};

/// HKDF-SHA256(secret, salt = client_nonce || server_nonce) split into both directions' keys,
/// and handed out as the `side` end sends and receives. Throws net_error if OpenSSL fails.
SessionKeys derive_session_keys(std::string_view secret, const Nonce& client_nonce, const Nonce& server_nonce,
                                HandshakeSide side);

/// Seals the frames one end sends, counting them. Not thread-safe (the connection's send lock
/// serialises it).
class FrameSealer {
 public:
  explicit FrameSealer(const DirectionKeys& keys);
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;

  /// Writes ciphertext and tag of `plaintext` to `out` (replacing its contents), with `header`
  /// (whose length must count the tag) as associated data.
  void seal(const std::array<char, kFrameHeaderBytes>& header, std::string_view plaintext, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Opens the frames one end receives, counting them. Not thread-safe (one receiver at a time).
class FrameOpener {
 public:
  explicit FrameOpener(const DirectionKeys& keys);
  ~FrameOpener();
  FrameOpener(const FrameOpener&) = delete;
  FrameOpener& operator=(const FrameOpener&) = delete;

  /// Decrypts `size` bytes of ciphertext and tag at `data` in place and returns the plaintext's
  /// length; throws net_error, saying which frame failed and why that means tampering, when the
  /// tag does not match (bytes changed, a frame injected, replayed, reordered or dropped).
  std::size_t open(const std::array<char, kFrameHeaderBytes>& header, char* data, std::size_t size);
  /// Frames opened so far.
  std::uint64_t count() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace spate::detail::net
