// What the two hand-written baselines (handwritten_wordcount.cpp, handwritten_clicks.cpp) share:
// chunked file reading, memory on 2 MB pages, CPU dispatch and a hash table for string keys.
// Header-only, x86-64 and Linux (the machines the baselines are measured on).
//
// Why these pieces, measured on the benchmark VM (a paravirtualised guest):
// * read() into one reused buffer, not mmap: scanning a mapped 0.9 GB file took 0.5-0.8 s,
//   reading it in 256 KB pieces 0.15-0.24 s. Every 4 KB page of a mapping costs a TLB miss,
//   dear under nested paging, and the kernel's copy reads through its own large-page mapping.
// * Memory is dear: a 4 KB page fault costs ~11 us, and memory the guest has not touched lately
//   ~2 ms a MB even on 2 MB pages. Big arrays are therefore on 2 MB pages (madvise), and the
//   programs allocate sparingly and reuse.
// * StringTable keeps keys of up to 16 bytes inside the 32-byte slot, compared as two 64-bit
//   words: a probe touches one cache line, never the input or a second allocation.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fast_scan {

// ---------------------------------------------------------------------------------------------
// Memory

/// Zeroed memory from an anonymous mapping, asked to be backed by 2 MB pages.
inline void* map_zeroed(std::size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

/// A growable array of trivially copyable T in zeroed anonymous memory on 2 MB pages; it grows
/// by mremap, which moves page tables rather than copying the elements.
template <class T>
class BigVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  BigVector() = default;
  BigVector(const BigVector&) = delete;
  BigVector& operator=(const BigVector&) = delete;
  ~BigVector() {
    if (data_ != nullptr) ::munmap(data_, capacity_ * sizeof(T));
  }

  void push_back(const T& v) {
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = v;
  }
  /// Makes the size n; new elements are zero.
  void resize_zeroed(std::size_t n) {
    if (n > capacity_) grow(n);
    if (n > size_) std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    size_ = n;
  }
  /// Empties it and gives the memory back.
  void clear_and_release() {
    if (data_ != nullptr) ::munmap(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }

 private:
  void grow(std::size_t at_least) {
    std::size_t bytes = std::max<std::size_t>(std::size_t{2} << 20, capacity_ * sizeof(T) * 2);
    while (bytes < at_least * sizeof(T)) bytes *= 2;
    void* p;
    if (data_ == nullptr) {
      p = map_zeroed(bytes);
    } else {
      p = ::mremap(data_, capacity_ * sizeof(T), bytes, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) throw std::bad_alloc();
      ::madvise(p, bytes, MADV_HUGEPAGE);
    }
    data_ = static_cast<T*>(p);
    capacity_ = bytes / sizeof(T);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Reading

/// A file read front to back in pieces of about `chunk` bytes into one reused buffer. Each piece
/// ends just after a delimiter the caller chooses (a '\n', a space) or at the end of the file,
/// so no record is split; the bytes after the cut move to the front of the buffer for the next
/// piece. A record longer than the buffer grows it. At least kPad writable bytes follow every
/// piece, so scanners may load whole 64-byte blocks and 16-byte fields past its end.
class ChunkedFile {
 public:
  static constexpr std::size_t kPad = 128;

  struct Piece {
    char* begin;
    char* end;
    bool last;  // the end of the file (it need not end with a delimiter)
  };

  ChunkedFile(const std::string& path, std::size_t chunk) : path_(path), capacity_(chunk) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail("cannot open");
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);  // helps only when the file is not cached
    buffer_ = allocate(capacity_);
  }
  ChunkedFile(const ChunkedFile&) = delete;
  ChunkedFile& operator=(const ChunkedFile&) = delete;
  ~ChunkedFile() { ::close(fd_); }

  /// The next piece, cut just after the last delimiter in it: last_cut(begin, end) returns
  /// that position, or nullptr when [begin, end) holds none. False once the file is done.
  template <class LastCut>
  bool next(Piece& piece, LastCut&& last_cut) {
    // Move the bytes after the previous cut to the front.
    const std::size_t rest = filled_ - consumed_;
    if (rest != 0 && consumed_ != 0) std::memmove(buffer_.get(), buffer_.get() + consumed_, rest);
    filled_ = rest;
    consumed_ = 0;
    for (;;) {
      fill();
      char* const begin = buffer_.get();
      if (eof_) {
        if (filled_ == 0) return false;
        piece = {begin, begin + filled_, true};
        consumed_ = filled_;
        return true;
      }
      if (char* cut = last_cut(begin, begin + filled_); cut != nullptr) {
        piece = {begin, cut, false};
        consumed_ = static_cast<std::size_t>(cut - begin);
        return true;
      }
      grow();  // one record fills the whole buffer
    }
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string(what) + " " + path_ + ": " + std::strerror(errno));
  }

  // Reads until the buffer is full or the file ends.
  void fill() {
    while (filled_ < capacity_ && !eof_) {
      const ssize_t n = ::read(fd_, buffer_.get() + filled_, capacity_ - filled_);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot read");
      }
      if (n == 0) eof_ = true;
      filled_ += static_cast<std::size_t>(n);
    }
  }

  struct Free {
    void operator()(char* p) const noexcept { std::free(p); }
  };

  // A buffer for `bytes` and the padding, 64-byte aligned.
  static std::unique_ptr<char, Free> allocate(std::size_t bytes) {
    void* p = std::aligned_alloc(64, (bytes + kPad + 63) / 64 * 64);
    if (p == nullptr) throw std::bad_alloc();
    return std::unique_ptr<char, Free>(static_cast<char*>(p));
  }

  void grow() {
    auto bigger = allocate(capacity_ * 2);
    std::memcpy(bigger.get(), buffer_.get(), filled_);
    buffer_ = std::move(bigger);
    capacity_ *= 2;
  }

  std::string path_;
  int fd_ = -1;
  std::unique_ptr<char, Free> buffer_;
  std::size_t capacity_;
  std::size_t filled_ = 0;    // bytes in the buffer
  std::size_t consumed_ = 0;  // of those, handed out in the last piece
  bool eof_ = false;
};

/// The whole of a (small) file, e.g. the campaigns table.
inline std::string read_whole_file(const std::string& path) {
  ChunkedFile f(path, 1 << 16);
  std::string all;
  ChunkedFile::Piece p;
  while (f.next(p, [](char*, char* end) { return end; })) all.append(p.begin, p.end);
  return all;
}

// ---------------------------------------------------------------------------------------------
// CPU dispatch

/// The widest byte-compare kernels this CPU runs. SPATE_HW_ISA=sse2|avx2 caps it, so that tests
/// can check that every kernel gives the same output.
enum class Isa { sse2, avx2, avx512 };

inline Isa best_isa() {
  __builtin_cpu_init();
  Isa isa = Isa::sse2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2")) isa = Isa::avx2;
  if (isa == Isa::avx2 && __builtin_cpu_supports("avx512bw")) isa = Isa::avx512;
  if (const char* cap = std::getenv("SPATE_HW_ISA"); cap != nullptr) {
    const std::string_view c = cap;
    if (c == "sse2") isa = Isa::sse2;
    if (c == "avx2" && isa == Isa::avx512) isa = Isa::avx2;
  }
  return isa;
}

// ---------------------------------------------------------------------------------------------
// Hashing

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;  // little-endian: byte i of p is bits 8i..8i+7
}

/// Multiplies to 128 bits and folds the halves: every input bit reaches the high output bits,
/// which pick the slot.
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline constexpr std::uint64_t kSeed0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t kSeed1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t kSeed2 = 0x8ebc6af09c88c6e3ULL;

/// A string of up to 16 bytes as two words, zero past its end. Bytes may be read up to p + 16
/// (the callers' buffers are padded).
struct ShortKey {
  std::uint64_t lo, hi;
};

inline ShortKey short_key(const char* p, std::size_t len) noexcept {
  // Masks from a table rather than a branch on len <= 8, which word lengths make a coin toss.
  static constexpr auto kMasks = [] {
    std::array<ShortKey, 17> m{};
    for (std::size_t n = 0; n <= 16; ++n) {
      m[n].lo = n >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * n)) - 1;
      m[n].hi = n <= 8 ? 0 : n == 16 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * (n - 8))) - 1;
    }
    return m;
  }();
  return {load8(p) & kMasks[len].lo, load8(p + 8) & kMasks[len].hi};
}

/// The hash of a key of up to 16 bytes (the length goes in, as keys may contain zero bytes).
inline std::uint64_t hash_short(ShortKey k, std::size_t len) noexcept {
  return fold_multiply(k.lo ^ kSeed0, k.hi ^ kSeed1 ^ len);
}

/// The hash of a key longer than 16 bytes, 16 bytes per step (the last step overlaps).
inline std::uint64_t hash_long(const char* p, std::size_t len) noexcept {
  std::uint64_t h = kSeed2 ^ len;
  std::size_t i = 0;
  for (; i + 16 < len; i += 16)
    h = fold_multiply(load8(p + i) ^ kSeed0 ^ h, load8(p + i + 8) ^ kSeed1);
  return fold_multiply(load8(p + len - 16) ^ kSeed0 ^ h, load8(p + len - 8) ^ kSeed1);
}

/// A key ready for StringTable: its bytes, its hash and, when short, its two words.
struct KeyRef {
  const char* p;
  std::uint32_t len;
  std::uint64_t hash;
  ShortKey words;
};

/// Fills k for the key p[0, len). (Filled in place: returning the 40-byte struct made g++ build
/// it on the stack and copy it with loads spanning two stores, which stall store forwarding.)
inline void make_key(const char* p, std::size_t len, KeyRef& k) noexcept {
  k.p = p;
  k.len = static_cast<std::uint32_t>(len);
  if (len <= 16) {
    const ShortKey w = short_key(p, len);
    k.words.lo = w.lo;
    k.words.hi = w.hi;
    k.hash = hash_short(w, len);
  } else {
    k.hash = hash_long(p, len);
  }
}

// ---------------------------------------------------------------------------------------------
// The table

/// Copies of keys longer than 16 bytes, in blocks that never move.
class KeyArena {
 public:
  const char* store(const char* p, std::size_t len) {
    if (len > left_) {
      const std::size_t size = std::max<std::size_t>(1 << 20, len);
      blocks_.emplace_back(new char[size]);
      next_ = blocks_.back().get();
      left_ = size;
    }
    char* out = next_;
    std::memcpy(out, p, len);
    next_ += len;
    left_ -= len;
    return out;
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

/// An open-addressing map from byte strings of length 1..2^32-1 to a trivially copyable Value of
/// 8 bytes. Slots are 32 bytes, two to a 64-byte bucket: the key's first 16 bytes (or, past 16
/// bytes, a pointer to its copy in an arena), the top 32 bits of its hash, its length (0: empty)
/// and the value. The hash's high bits pick a bucket; a full bucket overflows into the next. A
/// lookup compares both slots of the bucket at once, so it takes one cache line and, unless the
/// bucket overflowed, one well-predicted branch: with one slot per probe, the branch on the
/// first slot mispredicted often, each time after waiting on the (often missing) line. Growing
/// rehashes from the stored bits alone. At most half full (a quarter to a half, once big).
template <class Value>
class StringTable {
  static_assert(sizeof(Value) == 8 && std::is_trivially_copyable_v<Value>);

 public:
  struct Slot {
    std::uint64_t lo, hi;  // the key's bytes, zero past its end; or lo = its arena copy
    std::uint32_t tag;     // hash >> 32
    std::uint32_t len;     // 0 for an empty slot
    Value value;

    std::string_view key() const noexcept {
      if (len <= 16) return {reinterpret_cast<const char*>(&lo), len};
      return {reinterpret_cast<const char*>(lo), len};
    }
  };
  static_assert(sizeof(Slot) == 32);

  explicit StringTable(unsigned log2_buckets = 15) { allocate(log2_buckets); }
  StringTable(const StringTable&) = delete;
  StringTable& operator=(const StringTable&) = delete;
  ~StringTable() { release(); }

  std::size_t size() const noexcept { return size_; }
  /// The number of slots, used or not.
  std::size_t capacity() const noexcept { return 2 * (bucket_mask_ + 1); }
  /// Slot i for i < capacity(); len == 0 marks an empty one.
  const Slot* slots() const noexcept { return slots_; }

  /// Moves the used slots to the front, keeping their order, and returns how many there are:
  /// slots()[0, size()) are then every key, no lookup works any more, and the rest of the
  /// memory, at least as much again, is free for scratch(). (Fresh memory costs ~2 ms a MB on
  /// the VM, so sorting in the table's own memory beats allocating.)
  std::size_t compact() noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < capacity(); ++i) {
      if (slots_[i].len != 0) slots_[n++] = slots_[i];
    }
    return n;
  }
  /// After compact(): the bytes past the used slots.
  void* scratch() noexcept { return slots_ + size_; }

  /// Frees the slots early; only size() still works.
  void release() noexcept {
    if (slots_ != nullptr) ::munmap(slots_, capacity() * sizeof(Slot));
    slots_ = nullptr;
  }

  /// Starts loading the bucket of `hash`.
  void prefetch(std::uint64_t hash) const noexcept {
    __builtin_prefetch(&slots_[2 * (hash >> shift_)], 1, 3);
  }

  /// The value of key k, inserted as Value{} (zero) when new.
  [[gnu::always_inline]] Value& operator[](const KeyRef& k) {
    return k.len <= 16 ? find_short(k) : find_long(k);
  }

 private:
  [[gnu::always_inline]] Value& find_short(const KeyRef& k) {
    for (std::size_t b = k.hash >> shift_;; b = (b + 1) & bucket_mask_) {
      Slot* s = &slots_[2 * b];
      const std::uint64_t d0 = (s[0].lo ^ k.words.lo) | (s[0].hi ^ k.words.hi) | (s[0].len ^ k.len);
      const std::uint64_t d1 = (s[1].lo ^ k.words.lo) | (s[1].hi ^ k.words.hi) | (s[1].len ^ k.len);
      // One branch for "either slot": g++ splits (d0 == 0) | (d1 == 0) into two, and the one
      // on d0 alone is a coin toss between the slots.
      if (std::min(d0, d1) == 0) return s[d1 == 0].value;
      if (s[1].len == 0) return insert(s[s[0].len != 0], k, k.words.lo, k.words.hi);
    }
  }

  Value& find_long(const KeyRef& k) {
    const auto tag = static_cast<std::uint32_t>(k.hash >> 32);
    const auto same = [&](const Slot& s) {
      return s.len == k.len && s.tag == tag &&
             std::memcmp(reinterpret_cast<const char*>(s.lo), k.p, k.len) == 0;
    };
    for (std::size_t b = k.hash >> shift_;; b = (b + 1) & bucket_mask_) {
      Slot* s = &slots_[2 * b];
      if (same(s[0])) return s[0].value;
      if (same(s[1])) return s[1].value;
      if (s[1].len == 0) {
        const char* copy = arena_.store(k.p, k.len);
        return insert(s[s[0].len != 0], k, reinterpret_cast<std::uint64_t>(copy), 0);
      }
    }
  }

  Value& insert(Slot& s, const KeyRef& k, std::uint64_t lo, std::uint64_t hi) {
    s.lo = lo;
    s.hi = hi;
    s.tag = static_cast<std::uint32_t>(k.hash >> 32);
    s.len = k.len;
    if (++size_ * 2 <= capacity()) return s.value;
    grow();
    return (*this)[k];  // found again in the new slots
  }

  void allocate(unsigned log2_buckets) {  // up to 2^32 buckets: the tag picks one
    slots_ = static_cast<Slot*>(map_zeroed((std::size_t{2} << log2_buckets) * sizeof(Slot)));
    bucket_mask_ = (std::size_t{1} << log2_buckets) - 1;
    shift_ = 64 - log2_buckets;
  }

  // Quadruples the buckets while the table is small, then doubles them, placing every key by
  // its stored tag (no key is read or rehashed). Quadrupling skips tables that would soon be
  // outgrown: fresh memory is dear on the VM.
  void grow() {
    Slot* const old = slots_;
    const std::size_t old_slots = capacity();
    const unsigned step = old_slots * sizeof(Slot) < (std::size_t{16} << 20) ? 2 : 1;
    allocate(static_cast<unsigned>(std::countr_zero(bucket_mask_ + 1)) + step);
    const unsigned tag_shift = shift_ - 32;
    for (std::size_t j = 0; j < old_slots; ++j) {
      if (old[j].len == 0) continue;
      std::size_t b = old[j].tag >> tag_shift;
      while (slots_[2 * b + 1].len != 0) b = (b + 1) & bucket_mask_;
      slots_[2 * b + (slots_[2 * b].len != 0)] = old[j];
    }
    ::munmap(old, old_slots * sizeof(Slot));
  }

  Slot* slots_ = nullptr;
  std::size_t bucket_mask_ = 0;
  unsigned shift_ = 0;  // 64 - log2(buckets)
  std::size_t size_ = 0;
  KeyArena arena_;
};

}  // namespace fast_scan
