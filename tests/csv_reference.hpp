// The reference CSV rules of the tests and the fuzzer, written one character at a time: the
// obvious reading of RFC 4180 that read_csv's tokenizer must agree with.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace spate_test {

/// True when s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
inline bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += len;
  }
  return true;
}

/// One field of a record: its text (quotes undone) and whether it was quoted.
struct RefField {
  std::string text;
  bool quoted = false;
  bool operator==(const RefField&) const = default;
};

/// Splits one record at `sep`, with `q` quoting; false when its quoting is broken.
inline bool ref_split(const std::string& r, char sep, char q, std::vector<RefField>& out) {
  out.clear();
  std::size_t i = 0, n = r.size();
  for (;;) {
    RefField f;
    if (i < n && r[i] == q) {
      f.quoted = true;
      ++i;
      for (;;) {
        if (i >= n) return false;
        if (r[i] == q) {
          if (i + 1 < n && r[i + 1] == q) {
            f.text += q;
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          f.text += r[i++];
        }
      }
      if (i < n && r[i] != sep) return false;
    } else {
      while (i < n && r[i] != sep) {
        if (r[i] == q) return false;
        f.text += r[i++];
      }
    }
    out.push_back(f);
    if (i == n) return true;
    ++i;  // separator
    if (i == n) {
      out.push_back({});
      return true;
    }
  }
}

}  // namespace spate_test
