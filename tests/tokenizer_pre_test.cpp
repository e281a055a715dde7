// Pre-tokenizer splits and character classes, for the regex lists the vocab
// fixtures do not cover (Llama 3, Qwen2) and the edges they share with GPT-2.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace flashslim::tokenizer {
namespace {

using Words = std::vector<std::string>;

TEST(PreTokenizer, Gpt2KeepsDigitRunsAndLeavesOneSpaceToTheNextWord) {
  EXPECT_EQ(split_words("Hello, world! 12345 I've  a", PreTokenizer::kGpt2),
            (Words{"Hello", ",", " world", "!", " 12345", " I", "'ve", " ", " a"}));
}

TEST(PreTokenizer, Llama3SplitsDigitsInThreesAndKeepsLineBreaksTogether) {
  EXPECT_EQ(
      split_words("Hello, world! 12345 I'VE  a\n\n b", PreTokenizer::kLlama3),
      (Words{"Hello", ",", " world", "!", " ", "123", "45", " I", "'VE", " ", " a", "\n\n", " b"}));
}

TEST(PreTokenizer, Qwen2SplitsEveryDigit) {
  EXPECT_EQ(split_words("x 2024!\n", PreTokenizer::kQwen2),
            (Words{"x", " ", "2", "0", "2", "4", "!\n"}));
}

TEST(PreTokenizer, Llama3TakesOnePrefixCharacterBeforeLetters) {
  // [^\r\n\p{L}\p{N}]?\p{L}+ : "(" and "\t" join the word; "\n" does not.
  EXPECT_EQ(split_words("(Über\tdas\nja", PreTokenizer::kLlama3),
            (Words{"(Über", "\tdas", "\n", "ja"}));
}

TEST(PreTokenizer, FalconSeparatesPunctuationAndDigitTriples) {
  EXPECT_EQ(split_words("a+b 1234567", PreTokenizer::kFalcon),
            (Words{"a", "+", "b", " ", "123", "456", "7"}));
}

TEST(PreTokenizer, WordsConcatenateToTheText) {
  const std::string text =
      "  Ünïcödé\u3000spaces\t\t👍🏽 and 𝟘𝟙 digits... 'S 's\r\n\r\n";
  for (PreTokenizer pre :
       {PreTokenizer::kDefault, PreTokenizer::kGpt2, PreTokenizer::kLlama3, PreTokenizer::kQwen2,
        PreTokenizer::kFalcon, PreTokenizer::kDeepseekLlm, PreTokenizer::kStarcoder}) {
    std::string joined;
    for (const std::string& w : split_words(text, pre)) {
      EXPECT_FALSE(w.empty()) << pre_tokenizer_name(pre);
      joined += w;
    }
    EXPECT_EQ(joined, text) << pre_tokenizer_name(pre);
  }
}

TEST(PreTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(split_words("a\xFF", PreTokenizer::kGpt2), (Words{"a", "\xEF\xBF\xBD"}));
}

TEST(PreTokenizer, NamesFollowLlamaCpp) {
  EXPECT_EQ(pre_tokenizer_from_name("llama-bpe"), PreTokenizer::kLlama3);
  EXPECT_EQ(pre_tokenizer_from_name("qwen2"), PreTokenizer::kQwen2);
  EXPECT_EQ(pre_tokenizer_from_name("smollm"), PreTokenizer::kStarcoder);
  EXPECT_THROW(pre_tokenizer_from_name("no-such-pre"), Error);
}

TEST(Unicode, CategoryClasses) {
  EXPECT_TRUE(unicode::is_letter(U'ü'));
  EXPECT_TRUE(unicode::is_letter(U'中'));
  EXPECT_TRUE(unicode::is_number(U'٣'));  // ARABIC-INDIC DIGIT THREE
  EXPECT_TRUE(unicode::is_number(U'½'));
  EXPECT_TRUE(unicode::is_punctuation(U'¿'));
  EXPECT_FALSE(unicode::is_punctuation(U'$'));  // a symbol (Sc)
  EXPECT_TRUE(unicode::is_whitespace(0x3000));
  EXPECT_FALSE(unicode::is_whitespace(0x200B));  // zero width space is not White_Space
  EXPECT_FALSE(unicode::is_letter(0x10FFFF));
}

}  // namespace
}  // namespace flashslim::tokenizer
