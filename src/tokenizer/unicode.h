#pragma once
// Code points for the tokenizers: UTF-8 decoding that never fails (as
// llama.cpp: an invalid byte becomes U+FFFD), encoding, and the character
// classes the pre-tokenizer regexes use (\p{L}, \p{N}, \p{P}, \s).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flashslim::unicode {

// Unicode general category reduced to what the pre-tokenizers distinguish.
enum class CategoryClass : uint8_t { kOther, kLetter, kNumber, kPunctuation };

struct CategoryRun {
  uint32_t first;  // first code point of the run
  CategoryClass cls;
};
// Generated table (unicode_tables.cpp): sorted run starts covering 0..0x10FFFF.
extern const CategoryRun kCategoryRuns[];
extern const size_t kCategoryRunCount;

CategoryClass category_class(uint32_t cp);
inline bool is_letter(uint32_t cp) { return category_class(cp) == CategoryClass::kLetter; }
inline bool is_number(uint32_t cp) { return category_class(cp) == CategoryClass::kNumber; }
inline bool is_punctuation(uint32_t cp) {
  return category_class(cp) == CategoryClass::kPunctuation;
}
// The Unicode White_Space property (what \s matches in llama.cpp's splitters).
bool is_whitespace(uint32_t cp);

// Bytes in the UTF-8 sequence a lead byte announces (1 for continuation
// bytes and ASCII), as llama.cpp's unicode_len_utf8.
size_t utf8_sequence_length(uint8_t lead);
// Decodes text; each byte that does not start a valid sequence becomes U+FFFD.
std::vector<uint32_t> decode_utf8(std::string_view text);
void append_utf8(std::string& out, uint32_t cp);

}  // namespace flashslim::unicode
