// The reference CSV rules of the tests and the fuzzer, written one character at a time: the
// obvious reading of RFC 4180 that read_csv's tokenizer must agree with.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "utf8_reference.hpp"

namespace spate_test {

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
