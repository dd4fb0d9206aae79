// Fuzz target: read_csv's scanner (CsvSource: the planning pass that finds each split's quote
// state, the split scan over LineReader blocks, the tokenizer) on any file content.
//
// Input: byte 0 picks the options (bit 0: multiline; bits 1-2: separator , ; tab |; bit 3: quote
// " or '; bit 4: max_record_bytes 40 instead of 64 MiB), byte 1 the number of splits (1 to 16),
// the rest is the file. Checks that the records of all splits, in order, and the count of
// malformed ones equal those of a plain reference of the documented rules written here, one
// character at a time: a record ends at a '\n' after an even number of quotes (any '\n' without
// multiline), loses one '\r' before it, is skipped when empty, and is malformed when longer than
// the limit, not UTF-8, or badly quoted. ASan checks that nothing reads outside its buffers.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../csv_reference.hpp"
#include "fuzz_support.hpp"
#include "spate/detail/block_store.hpp"
#include "spate/detail/csv_source.hpp"
#include "spate/detail/task_context.hpp"

namespace {

using spate_fuzz::fail;
using spate_test::RefField;
using spate_test::ref_split;
using spate_test::valid_utf8;
using Record = std::vector<RefField>;

std::string g_path;  // the file each input is written to

void reference(const std::string& content, const spate::detail::CsvFormat& f, std::vector<Record>& rows,
               std::uint64_t& bad) {
  std::size_t start = 0;
  while (start < content.size()) {
    bool in_quotes = false;
    std::size_t i = start;
    while (i < content.size() && !(content[i] == '\n' && !in_quotes)) {
      if (f.multiline && content[i] == f.quote) in_quotes = !in_quotes;
      ++i;
    }
    std::string rec = content.substr(start, i - start);
    start = i + 1;
    if (!rec.empty() && rec.back() == '\r') rec.pop_back();
    if (rec.empty()) continue;
    Record r;
    if (rec.size() > f.max_record_bytes || !valid_utf8(rec) || !ref_split(rec, f.separator, f.quote, r)) {
      ++bad;
      continue;
    }
    rows.push_back(std::move(r));
  }
}

spate::detail::RowProblem keep(void* sink, const spate::detail::CsvRecord& record) {
  Record r;
  for (std::size_t i = 0; i < record.size(); ++i) r.push_back(RefField{std::string(record[i]), record.quoted(i)});
  static_cast<std::vector<Record>*>(sink)->push_back(std::move(r));
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/spate-fuzz-csv-XXXXXX";
  if (::mkdtemp(dir) == nullptr) fail("cannot make a temporary directory");
  g_path = std::string(dir) + "/input.csv";
  spate_fuzz::write_seeds_if_asked(
      "csv", {std::string("\x01\x03") + "id,name\n1,\"a,b\"\n2,\"x\ny\"\"z\"\r\n\n3,c\"d\n4,\"e\"f\n",
              std::string("\x09\x05") + "a;'b\n''c';d\n'open\n"});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  spate::detail::CsvFormat format;
  format.multiline = (data[0] & 1) != 0;
  format.separator = ",;\t|"[(data[0] >> 1) & 3];
  format.quote = (data[0] & 8) ? '\'' : '"';
  if (data[0] & 16) format.max_record_bytes = 40;
  const std::size_t splits = 1 + data[1] % 16;
  const std::string content(reinterpret_cast<const char*>(data) + 2, size - 2);
  {
    std::ofstream out(g_path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) fail("cannot write the input file");
  }
  std::vector<Record> want;
  std::uint64_t want_bad = 0;
  reference(content, format, want, want_bad);

  std::vector<Record> got;
  std::uint64_t got_bad = 0;
  bool planned = spate_fuzz::refused_or_done([&] {
    auto source = spate::detail::CsvSource::plan(g_path, format, splits, {}, {});
    spate::detail::BlockStore store;
    spate::detail::BadRecordPolicy policy{false, "bad"};
    for (std::size_t p = 0; p < source.partitions(); ++p) {
      spate::detail::TaskContext tc(store, 0, p, 1);
      source.scan(tc, p, policy, &keep, &got);
      for (const auto& [name, n] : tc.counters())
        if (name == "bad") got_bad += n;
    }
  });
  // The file exists and is readable: bad bytes make malformed records, never an error.
  if (!planned) fail("planning or scanning a readable file threw");
  if (got != want) fail("the records differ from the reference's");
  if (got_bad != want_bad) fail("the count of malformed records differs from the reference's");
  return 0;
}
