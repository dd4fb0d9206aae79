// Mutual challenge-response authentication with the cluster secret, and loading that secret.
// Internal; included as "net/auth.hpp". The exchange itself runs in net/connection.cpp.
//
// The handshake (C connects, S listens; every message is one frame):
//   C -> S  hello          {role u8, nonce_c[32], wire mode u8}
//   S -> C  challenge      {nonce_s[32]}
//   C -> S  auth_response  {HMAC-SHA256(secret, 'C' || nonce_c || nonce_s)}
//   S -> C  auth_ok        {HMAC-SHA256(secret, 'S' || nonce_s || nonce_c)}
//        or auth_refused   {reason}, and S closes
// C checks S's proof in turn and closes (sending auth_refused) when it is wrong.
//
// Why this shape:
// - The secret never crosses the wire; only HMACs over fresh 32-byte random nonces do.
// - Each side's nonce is fresh per connection, so a response recorded from an old session is
//   over the wrong nonce and fails (no replay).
// - The side byte ('C' or 'S') comes first in the MAC input, so a proof one side produced can
//   never be reflected back as the other side's proof, even by a peer that picks its nonce.
// - S proves itself only after C has: an unauthenticated client gets nothing MAC'd out of S.
// - Proofs are compared with CRYPTO_memcmp, in constant time.
// - With a secret, every frame after the handshake is sealed (net/record_layer.hpp) under keys
//   derived from the secret and both nonces. The wire mode in hello is what the client will
//   speak; S refuses a hello whose mode is not its own, so a changed mode byte ends the
//   connection rather than downgrading it, and a plain peer meets a clear refusal.
//
// Without a secret (load_secret() returns ""), the handshake still runs, with an empty key: the
// protocol stays one code path and catches crossed wires (a non-spate peer, another build). It
// proves nothing about the peer, so the driver must then listen on loopback only
// (net::is_loopback_host in net/connection.hpp) and say so.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spate::detail::net {

/// Bytes of a handshake nonce.
inline constexpr std::size_t kNonceBytes = 32;
/// Bytes of an HMAC-SHA256 proof.
inline constexpr std::size_t kProofBytes = 32;
/// The largest handshake frame payload accepted from a peer not yet authenticated; keeps what
/// an unknown peer can make us buffer tiny.
inline constexpr std::size_t kMaxHandshakeFrameBytes = 4096;
/// The longest refusal reason sent or accepted, in bytes.
inline constexpr std::size_t kMaxRefusalBytes = 1024;

/// A fresh random handshake nonce.
using Nonce = std::array<unsigned char, kNonceBytes>;
/// HMAC-SHA256(secret, side || own nonce || peer nonce).
using Proof = std::array<unsigned char, kProofBytes>;

/// Which end of the handshake computes a proof; its byte is the first MAC input byte.
enum class HandshakeSide : std::uint8_t { client = 'C', server = 'S' };

/// What the connecting process is, announced in hello so the listener knows what it serves.
enum class PeerRole : std::uint8_t {
  executor = 1,  ///< an executor's link to the driver
  fetcher = 2,   ///< a process fetching blocks from an executor
  driver = 3,    ///< the driver connecting to an executor
};

/// The role's name ("executor"), or "unknown".
std::string_view peer_role_name(PeerRole role) noexcept;

/// Initialises OpenSSL once per process without its exit-time cleanup; spate calls it before
/// each use of OpenSSL. A Context that outlives main (held in a static) still has threads that
/// hash and draw nonces while exit handlers run: OpenSSL freed under them would fail their
/// handshakes, and leak the per-thread state they hold.
void init_openssl();

/// 32 bytes from OpenSSL's CSPRNG (RAND_bytes); throws net_error if it cannot provide them.
Nonce fresh_nonce();

/// The proof that the `side` end holds `secret`: HMAC-SHA256(secret, side || own || peer).
Proof compute_proof(std::string_view secret, HandshakeSide side, const Nonce& own,
                    const Nonce& peer);

/// True when `proof` is what the `prover` side, holding `secret`, computes over its nonce and
/// the verifier's. Compares in constant time; a proof of the wrong length is false.
bool verify_proof(std::string_view secret, HandshakeSide prover, const Nonce& prover_nonce,
                  const Nonce& verifier_nonce, std::string_view proof);

/// How frames travel after the handshake. The values are the wire encoding.
enum class WireMode : std::uint8_t {
  plain = 0,   ///< as they are: no secret, or encryption turned off
  sealed = 1,  ///< AES-256-GCM under per-connection keys (record_layer.hpp)
};

/// "plain" or "sealed".
std::string_view wire_mode_name(WireMode mode) noexcept;

/// The hello message: who is connecting, its nonce, and how it will send frames.
struct Hello {
  PeerRole role = PeerRole::executor;
  Nonce nonce{};
  WireMode mode = WireMode::plain;
};

/// hello's payload: role byte, the nonce, then the wire mode byte.
std::string encode_hello(const Hello& hello);
/// Parses a hello payload; throws net_error on a wrong length, unknown role or unknown mode.
Hello decode_hello(std::string_view payload);

/// challenge's payload: the listener's nonce.
std::string encode_challenge(const Nonce& nonce);
/// Parses a challenge payload; throws net_error unless it is exactly kNonceBytes.
Nonce decode_challenge(std::string_view payload);

/// auth_response's and auth_ok's payload: the proof's bytes.
std::string encode_proof(const Proof& proof);

/// auth_refused's payload: a varint-length reason, cut to kMaxRefusalBytes.
std::string encode_refusal(std::string_view reason);
/// Parses an auth_refused payload; throws net_error when it is malformed.
std::string decode_refusal(std::string_view payload);

/// The cluster secret: SPATE_SECRET's value, the contents of the file named by SPATE_SECRET_FILE
/// ("-": a line of standard input), or what the descriptor SPATE_SECRET_FD holds (how a
/// local-cluster driver hands it to its executors, never in the environment); "" when none is
/// set (no secret). See load_secret_from.
std::string load_secret();

/// The rules of load_secret over explicit values (null = variable not set):
/// - secret_value set and non-empty: that value, as is.
/// - secret_file set and non-empty: the file's contents, minus trailing "\n" / "\r\n".
///   A file that cannot be read, or is empty after trimming, is a config_error naming the path
///   (the user asked for a secret; running without one silently would be worse).
/// - secret_fd set: all the descriptor holds from its start (it is closed after); empty is a
///   config_error.
/// - more than one set and non-empty: config_error (ambiguous: which one is right is not ours
///   to guess).
/// - none: "".
std::string load_secret_from(const char* secret_value, const char* secret_file, const char* secret_fd = nullptr);

}  // namespace spate::detail::net
