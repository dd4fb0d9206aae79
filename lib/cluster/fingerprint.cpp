// Executable fingerprint: the linker's build id (a hash of the linked output, so any rebuild
// that changes the program changes it), read from the loaded image at no cost; a SHA-256 of the
// binary when it has no build id. Hashing was measurable: the test binary is 160 MB, and every
// executor start read it whole.
#include "cluster/fingerprint.hpp"

#include <elf.h>
#include <link.h>
#include <openssl/evp.h>

#include <cstring>

#include <array>
#include <filesystem>
#include <fstream>
#include <memory>

#include "net/auth.hpp"
#include "spate/error.hpp"

namespace spate::detail {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// The NT_GNU_BUILD_ID note of the main executable's loaded image, as hex; "" when absent.
std::string build_id() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        // The first object is the main program (empty name); libraries follow.
        auto* out = static_cast<std::string*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* nh = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const char* name = p + sizeof(ElfW(Nhdr));
            const char* desc = name + ((nh->n_namesz + 3) & ~3u);
            const char* next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end) break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              *out = hex(reinterpret_cast<const unsigned char*>(desc), nh->n_descsz);
              return 1;
            }
            p = next;
          }
        }
        return 1;  // only the main program counts
      },
      &found);
  return found;
}

std::string sha256_of_executable() {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  if (!in) throw io_error("cannot read /proc/self/exe to fingerprint this executable");
  net::init_openssl();
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::array<char, 1 << 16> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return "sha256:" + hex(md, len);
}

std::string compute() {
  std::string id = build_id();
  return id.empty() ? sha256_of_executable() : "build-id:" + id;
}

}  // namespace

const std::string& executable_fingerprint() {
  static const std::string fp = compute();  // immutable once computed
  return fp;
}

std::string executable_path() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

}  // namespace spate::detail
