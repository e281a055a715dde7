#include <gtest/gtest.h>

#include "core/error.h"
#include "core/size.h"

using flashslim::parse_size;

TEST(CoreSize, PlainAndSuffixedBytes) {
  EXPECT_EQ(parse_size("1073741824", std::nullopt), 1073741824u);
  EXPECT_EQ(parse_size("512K", std::nullopt), 512u * 1024);
  EXPECT_EQ(parse_size("64MiB", std::nullopt), 64u << 20);
  EXPECT_EQ(parse_size("1.5g", std::nullopt), 3ull << 29);
  EXPECT_EQ(parse_size("2GB", std::nullopt), 2ull << 30);
  EXPECT_EQ(parse_size("100b", std::nullopt), 100u);
}

TEST(CoreSize, PercentOfBase) {
  EXPECT_EQ(parse_size("50%", 1000), 500u);
  EXPECT_EQ(parse_size("12.5%", 637000001), 79625000u);  // floor of 79625000.125
  EXPECT_EQ(parse_size("100%", 7), 7u);
}

TEST(CoreSize, ErrorsNameTheText) {
  try {
    parse_size("12Q", std::nullopt);
    FAIL() << "no error";
  } catch (const flashslim::Error& e) {
    EXPECT_STREQ(e.what(), "'12Q': expected bytes with K/M/G suffix or a percentage");
  }
  EXPECT_THROW(parse_size("", std::nullopt), flashslim::Error);
  EXPECT_THROW(parse_size("K", std::nullopt), flashslim::Error);
  EXPECT_THROW(parse_size("-5M", std::nullopt), flashslim::Error);
  EXPECT_THROW(parse_size("50%", std::nullopt), flashslim::Error);  // no base
  EXPECT_THROW(parse_size("0%", 100), flashslim::Error);
  EXPECT_THROW(parse_size("150%", 100), flashslim::Error);
  EXPECT_THROW(parse_size("0.3", std::nullopt), flashslim::Error);  // not whole bytes
  EXPECT_THROW(parse_size("1.2.3M", std::nullopt), flashslim::Error);
}
