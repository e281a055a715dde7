// Utf8Stream: holds back an incomplete UTF-8 sequence at the end of the bytes
// seen so far until the following pieces complete it.
#include <algorithm>
#include <utility>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace flashslim {

namespace {

// Bytes at the end of `s` that start a multi-byte sequence still missing bytes.
size_t incomplete_tail(std::string_view s) {
  for (size_t k = 1; k <= std::min<size_t>(3, s.size()); ++k) {
    const uint8_t b = static_cast<uint8_t>(s[s.size() - k]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: look further back
    if (b < 0xC0) return 0;            // ASCII
    return unicode::utf8_sequence_length(b) > k ? k : 0;
  }
  return 0;  // only continuation bytes: invalid, nothing to wait for
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  const size_t ready = pending_.size() - incomplete_tail(pending_);
  std::string out = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return out;
}

std::string Utf8Stream::flush() { return std::exchange(pending_, {}); }

}  // namespace flashslim
