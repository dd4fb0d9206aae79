// AES-256-GCM frame sealing and HKDF key derivation over libcrypto (see record_layer.hpp).
#include "net/record_layer.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cstring>

#include "net/net_error.hpp"

namespace spate::detail::net {

namespace {

constexpr std::string_view kHkdfInfo = "spate record layer 1";

// The nonce of frame `count`: the IV with the count XORed into its last 8 bytes.
std::array<unsigned char, 12> nonce_of(const std::array<unsigned char, 12>& iv, std::uint64_t count) {
  auto nonce = iv;
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(count >> (8 * i));
  return nonce;
}

struct CipherContext {
  CipherContext() : ctx(EVP_CIPHER_CTX_new()) {
    if (!ctx) throw net_error("spate: OpenSSL could not allocate a cipher context");
  }
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
  CipherContext(const CipherContext&) = delete;
  CipherContext& operator=(const CipherContext&) = delete;
  EVP_CIPHER_CTX* ctx;
};

}  // namespace

SessionKeys derive_session_keys(std::string_view secret, const Nonce& client_nonce, const Nonce& server_nonce,
                                HandshakeSide side) {
  init_openssl();
  std::array<unsigned char, 2 * (32 + 12)> okm{};
  std::array<unsigned char, 2 * kNonceBytes> salt{};
  std::memcpy(salt.data(), client_nonce.data(), kNonceBytes);
  std::memcpy(salt.data() + kNonceBytes, server_nonce.data(), kNonceBytes);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> pctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr),
                                                                    &EVP_PKEY_CTX_free);
  std::size_t out_len = okm.size();
  // HKDF wants a non-null key pointer even for an empty key.
  static const unsigned char kEmpty = 0;
  const auto* key = secret.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(secret.data());
  if (!pctx || EVP_PKEY_derive_init(pctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(pctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(pctx.get(), salt.data(), static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(pctx.get(), key, static_cast<int>(secret.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(pctx.get(), reinterpret_cast<const unsigned char*>(kHkdfInfo.data()),
                                  static_cast<int>(kHkdfInfo.size())) <= 0 ||
      EVP_PKEY_derive(pctx.get(), okm.data(), &out_len) <= 0 || out_len != okm.size())
    throw net_error("spate: OpenSSL's HKDF-SHA256 failed while deriving a connection's keys");
  DirectionKeys c2s, s2c;
  const unsigned char* at = okm.data();
  std::memcpy(c2s.key.data(), at, 32), at += 32;
  std::memcpy(s2c.key.data(), at, 32), at += 32;
  std::memcpy(c2s.iv.data(), at, 12), at += 12;
  std::memcpy(s2c.iv.data(), at, 12);
  OPENSSL_cleanse(okm.data(), okm.size());
  return side == HandshakeSide::client ? SessionKeys{c2s, s2c} : SessionKeys{s2c, c2s};
}

struct FrameSealer::State {
  DirectionKeys keys;
  CipherContext cipher;
  std::uint64_t count = 0;
};

FrameSealer::FrameSealer(const DirectionKeys& keys) : state_(std::make_unique<State>()) {
  state_->keys = keys;
  if (EVP_EncryptInit_ex(state_->cipher.ctx, EVP_aes_256_gcm(), nullptr, keys.key.data(), nullptr) != 1)
    throw net_error("spate: OpenSSL could not set up AES-256-GCM");
}

FrameSealer::~FrameSealer() { OPENSSL_cleanse(state_->keys.key.data(), state_->keys.key.size()); }

void FrameSealer::seal(const std::array<char, kFrameHeaderBytes>& header, std::string_view plaintext,
                       std::string& out) {
  auto nonce = nonce_of(state_->keys.iv, state_->count++);
  EVP_CIPHER_CTX* ctx = state_->cipher.ctx;
  out.resize(plaintext.size() + kTagBytes);
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0, fin = 0;
  bool ok = EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()),
                              static_cast<int>(header.size())) == 1 &&
            (plaintext.empty() ||
             EVP_EncryptUpdate(ctx, dst, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                               static_cast<int>(plaintext.size())) == 1) &&
            EVP_EncryptFinal_ex(ctx, dst + plaintext.size(), &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), dst + plaintext.size()) == 1;
  if (!ok) throw net_error("spate: OpenSSL's AES-256-GCM failed while sealing a frame");
}

struct FrameOpener::State {
  DirectionKeys keys;
  CipherContext cipher;
  std::uint64_t count = 0;
};

FrameOpener::FrameOpener(const DirectionKeys& keys) : state_(std::make_unique<State>()) {
  state_->keys = keys;
  if (EVP_DecryptInit_ex(state_->cipher.ctx, EVP_aes_256_gcm(), nullptr, keys.key.data(), nullptr) != 1)
    throw net_error("spate: OpenSSL could not set up AES-256-GCM");
}

FrameOpener::~FrameOpener() { OPENSSL_cleanse(state_->keys.key.data(), state_->keys.key.size()); }

std::uint64_t FrameOpener::count() const noexcept { return state_->count; }

std::size_t FrameOpener::open(const std::array<char, kFrameHeaderBytes>& header, char* data, std::size_t size) {
  std::uint64_t number = state_->count;
  if (size < kTagBytes)
    throw net_error(fmt::format("frame {} is {} bytes, too short to be sealed (a sealed frame ends with a "
                                "{}-byte tag): the stream was tampered with, or the peer does not encrypt",
                                number, size, kTagBytes));
  std::size_t plain = size - kTagBytes;
  auto nonce = nonce_of(state_->keys.iv, number);
  EVP_CIPHER_CTX* ctx = state_->cipher.ctx;
  auto* bytes = reinterpret_cast<unsigned char*>(data);
  int len = 0, fin = 0;
  bool ok = EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(header.data()),
                              static_cast<int>(header.size())) == 1 &&
            (plain == 0 || EVP_DecryptUpdate(ctx, bytes, &len, bytes, static_cast<int>(plain)) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), bytes + plain) == 1 &&
            EVP_DecryptFinal_ex(ctx, bytes + plain, &fin) == 1;
  if (!ok)
    throw net_error(fmt::format("frame {} failed authentication: its bytes were changed, or it was injected, "
                                "replayed, reordered or follows a dropped frame",
                                number));
  ++state_->count;
  return plain;
}

}  // namespace spate::detail::net
