// Pre-tokenizer regexes of llama.cpp (llama-vocab.cpp, unicode.cpp) as
// hand-written matchers. Each matcher answers "how long is the match of this
// regex starting exactly here" (0: none); split_by() turns that into
// leftmost-first, non-overlapping matches plus gaps, as std::regex_iterator.
#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace flashslim::tokenizer {

namespace {

using unicode::is_letter;
using unicode::is_number;
using unicode::is_whitespace;

// What a matcher reads past either end of the word it is splitting.
constexpr uint32_t kOutside = 0xFFFFFFFF;

// The code points of one word; matchers never see beyond it.
struct Word {
  std::span<const uint32_t> cps;
  uint32_t at(size_t i) const { return i < cps.size() ? cps[i] : kOutside; }
};

using Matcher = size_t (*)(const Word& w, size_t pos);

bool letter(uint32_t c) { return c != kOutside && is_letter(c); }
bool number(uint32_t c) { return c != kOutside && is_number(c); }
bool space(uint32_t c) { return c != kOutside && is_whitespace(c); }
// [^\s\p{L}\p{N}]: any code point of the word that is none of the three.
bool other(uint32_t c) {
  return c != kOutside && !is_whitespace(c) && !is_letter(c) && !is_number(c);
}
bool newline(uint32_t c) { return c == '\r' || c == '\n'; }
uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

template <typename Pred>
size_t run_length(const Word& w, size_t pos, Pred pred) {
  size_t end = pos;
  while (pred(w.at(end))) ++end;
  return end - pos;
}

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive (Llama 3, Qwen2).
size_t match_contraction(const Word& w, size_t pos, bool ignore_case) {
  if (w.at(pos) != '\'') return 0;
  auto lower = [&](size_t i) { return ignore_case ? ascii_lower(w.at(i)) : w.at(i); };
  const uint32_t c1 = lower(pos + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  const uint32_t c2 = lower(pos + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// \s+(?!\S)|\s+ : a whitespace run, leaving its last space to the next word
// when a non-space follows inside the word.
size_t match_whitespace(const Word& w, size_t pos) {
  const size_t n = run_length(w, pos, space);
  if (n > 1 && w.at(pos + n) != kOutside) return n - 1;
  return n;
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (llama.cpp's hand-coded splitter, which also takes the trailing \s+).
size_t match_gpt2(const Word& w, size_t pos) {
  if (size_t n = match_contraction(w, pos, false)) return n;
  const size_t run_start = pos + (w.at(pos) == ' ' ? 1 : 0);
  const uint32_t first = w.at(run_start);
  for (bool (*cls)(uint32_t) : {letter, number, other})
    if (cls(first)) return run_start - pos + run_length(w, run_start, cls);
  return std::max<size_t>(match_whitespace(w, pos), 1);
}

// Llama 3 / Qwen2: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_llama3_family(const Word& w, size_t pos, size_t max_digits) {
  if (size_t n = match_contraction(w, pos, true)) return n;
  const uint32_t c = w.at(pos);
  if (!newline(c) && !number(c) && (letter(c) || letter(w.at(pos + 1))))
    return 1 + run_length(w, pos + 1, letter);
  if (number(c)) return std::min(run_length(w, pos, number), max_digits);
  const size_t run_start = pos + (c == ' ' ? 1 : 0);
  if (other(w.at(run_start))) {
    size_t end = run_start + run_length(w, run_start, other);
    end += run_length(w, end, newline);
    return end - pos;
  }
  // \s*[\r\n]+: the whitespace run up to its last line break.
  const size_t n = run_length(w, pos, space);
  for (size_t k = n; k > 0; --k)
    if (newline(w.at(pos + k - 1))) return k;
  return std::max<size_t>(match_whitespace(w, pos), 1);
}

size_t match_llama3(const Word& w, size_t pos) { return match_llama3_family(w, pos, 3); }
size_t match_qwen2(const Word& w, size_t pos) { return match_llama3_family(w, pos, 1); }

// [\p{P}\$\+<=>\^~\|`]+ (Falcon) and the same without ` (default).
bool falcon_punctuation(uint32_t c) {
  return c != kOutside && (unicode::is_punctuation(c) || c == '$' || c == '+' || c == '<' ||
                           c == '=' || c == '>' || c == '^' || c == '~' || c == '|' || c == '`');
}
bool default_punctuation(uint32_t c) { return c != '`' && falcon_punctuation(c); }
size_t match_falcon_punctuation(const Word& w, size_t pos) {
  return run_length(w, pos, falcon_punctuation);
}
size_t match_default_punctuation(const Word& w, size_t pos) {
  return run_length(w, pos, default_punctuation);
}

size_t match_number_run(const Word& w, size_t pos) { return run_length(w, pos, number); }  // \p{N}+
size_t match_one_number(const Word& w, size_t pos) { return number(w.at(pos)) ? 1 : 0; }   // \p{N}
// [0-9][0-9][0-9]
size_t match_three_digits(const Word& w, size_t pos) {
  auto digit = [&](size_t i) { return w.at(i) >= '0' && w.at(i) <= '9'; };
  return digit(pos) && digit(pos + 1) && digit(pos + 2) ? 3 : 0;
}

// DeepSeek LLM's regexes use literal code point ranges; llama.cpp runs them
// with std::wregex on text whose non-ASCII whitespace became U+000B, so such
// whitespace matches \s and none of the ranges.
struct CodeRange {
  uint32_t first, last;
};

template <size_t N>
bool in_ranges(uint32_t c, const CodeRange (&ranges)[N]) {
  if (c > 0x7F && is_whitespace(c)) c = 0x0B;
  const CodeRange* it = std::upper_bound(
      ranges, ranges + N, c, [](uint32_t v, const CodeRange& r) { return v < r.first; });
  return it != ranges && c <= (it - 1)->last;
}

// The letter class of \s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+ (cased letters).
constexpr CodeRange kDeepseekLetters[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
// [!-/:-~！-／：-～‘-‟　-。] (ASCII and full-width punctuation, quotes).
constexpr CodeRange kDeepseekPunctuation[] = {
    {0x21, 0x2F},     {0x3A, 0x7E},     {0x2018, 0x201F},
    {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};
// [一-龥ࠀ-一가-퟿] (CJK and Hangul).
constexpr CodeRange kDeepseekCjk[] = {{0x800, 0x9FA5}, {0xAC00, 0xD7FF}};

// \s?[class]+
template <const auto& kRanges>
size_t match_space_then_class(const Word& w, size_t pos) {
  auto cls = [](uint32_t c) { return c != kOutside && in_ranges(c, kRanges); };
  if (space(w.at(pos)) && cls(w.at(pos + 1))) return 1 + run_length(w, pos + 1, cls);
  return run_length(w, pos, cls);
}
size_t match_deepseek_newline(const Word& w, size_t pos) { return newline(w.at(pos)) ? 1 : 0; }
size_t match_trailing_whitespace(const Word& w, size_t pos) {  // \s+$
  const size_t n = run_length(w, pos, space);
  return pos + n == w.cps.size() ? n : 0;
}
size_t match_cjk_run(const Word& w, size_t pos) {
  return run_length(w, pos, [](uint32_t c) { return c != kOutside && in_ranges(c, kDeepseekCjk); });
}

std::vector<Matcher> regex_list(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kDefault:
      return {match_default_punctuation, match_gpt2, match_number_run, match_three_digits};
    case PreTokenizer::kGpt2:
      return {match_gpt2};
    case PreTokenizer::kLlama3:
      return {match_llama3};
    case PreTokenizer::kQwen2:
      return {match_qwen2};
    case PreTokenizer::kFalcon:
      return {match_falcon_punctuation, match_gpt2, match_three_digits};
    case PreTokenizer::kDeepseekLlm:
      return {match_deepseek_newline,
              match_space_then_class<kDeepseekLetters>,
              match_space_then_class<kDeepseekPunctuation>,
              match_trailing_whitespace,
              match_cjk_run,
              match_number_run};
    case PreTokenizer::kStarcoder:
      return {match_one_number, match_gpt2};
  }
  return {};
}

// Splits every word (given by its length in code points) into the matches of
// `matcher` and the gaps between them.
std::vector<size_t> split_by(std::span<const uint32_t> cps, const std::vector<size_t>& words,
                             Matcher matcher) {
  std::vector<size_t> out;
  out.reserve(words.size() * 2);
  size_t begin = 0;
  for (size_t length : words) {
    const Word w{cps.subspan(begin, length)};
    size_t gap_start = 0;
    size_t pos = 0;
    while (pos < length) {
      const size_t n = matcher(w, pos);
      if (n == 0) {
        ++pos;
        continue;
      }
      if (pos > gap_start) out.push_back(pos - gap_start);
      out.push_back(n);
      pos += n;
      gap_start = pos;
    }
    if (length > gap_start) out.push_back(length - gap_start);
    begin += length;
  }
  return out;
}

struct PreTokenizerName {
  std::string_view name;
  PreTokenizer pre;
};
// llama.cpp's names for the regex lists implemented here.
constexpr PreTokenizerName kNames[] = {
    {"default", PreTokenizer::kDefault},
    {"gpt-2", PreTokenizer::kGpt2},
    {"phi-2", PreTokenizer::kGpt2},
    {"jina-es", PreTokenizer::kGpt2},
    {"jina-de", PreTokenizer::kGpt2},
    {"gigachat", PreTokenizer::kGpt2},
    {"jina-v1-en", PreTokenizer::kGpt2},
    {"jina-v2-es", PreTokenizer::kGpt2},
    {"jina-v2-de", PreTokenizer::kGpt2},
    {"jina-v2-code", PreTokenizer::kGpt2},
    {"roberta-bpe", PreTokenizer::kGpt2},
    {"mpt", PreTokenizer::kGpt2},
    {"olmo", PreTokenizer::kGpt2},
    {"jais", PreTokenizer::kGpt2},
    {"llama3", PreTokenizer::kLlama3},
    {"llama-v3", PreTokenizer::kLlama3},
    {"llama-bpe", PreTokenizer::kLlama3},
    {"falcon3", PreTokenizer::kLlama3},
    {"falcon-h1", PreTokenizer::kLlama3},
    {"pixtral", PreTokenizer::kLlama3},
    {"dbrx", PreTokenizer::kLlama3},
    {"smaug-bpe", PreTokenizer::kLlama3},
    {"qwen2", PreTokenizer::kQwen2},
    {"deepseek-r1-qwen", PreTokenizer::kQwen2},
    {"stablelm2", PreTokenizer::kQwen2},
    {"falcon", PreTokenizer::kFalcon},
    {"deepseek-llm", PreTokenizer::kDeepseekLlm},
    {"starcoder", PreTokenizer::kStarcoder},
    {"refact", PreTokenizer::kStarcoder},
    {"command-r", PreTokenizer::kStarcoder},
    {"smollm", PreTokenizer::kStarcoder},
    {"codeshell", PreTokenizer::kStarcoder},
    {"exaone", PreTokenizer::kStarcoder},
    {"minerva-7b", PreTokenizer::kStarcoder},
};

}  // namespace

PreTokenizer pre_tokenizer_from_name(std::string_view name) {
  for (const PreTokenizerName& n : kNames)
    if (n.name == name) return n.pre;
  fail("unsupported pre-tokenizer tokenizer.ggml.pre = '{}'", name);
}

const char* pre_tokenizer_name(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kDefault:
      return "default";
    case PreTokenizer::kGpt2:
      return "gpt-2";
    case PreTokenizer::kLlama3:
      return "llama-bpe";
    case PreTokenizer::kQwen2:
      return "qwen2";
    case PreTokenizer::kFalcon:
      return "falcon";
    case PreTokenizer::kDeepseekLlm:
      return "deepseek-llm";
    case PreTokenizer::kStarcoder:
      return "starcoder";
  }
  return "unknown";
}

std::vector<std::string> split_words(std::string_view text, PreTokenizer pre) {
  const std::vector<uint32_t> cps = unicode::decode_utf8(text);
  std::vector<size_t> words = {cps.size()};
  for (Matcher matcher : regex_list(pre)) words = split_by(cps, words, matcher);

  std::vector<std::string> out;
  out.reserve(words.size());
  size_t begin = 0;
  for (size_t length : words) {
    std::string word;
    for (size_t i = begin; i < begin + length; ++i) unicode::append_utf8(word, cps[i]);
    out.push_back(std::move(word));
    begin += length;
  }
  return out;
}

}  // namespace flashslim::tokenizer
