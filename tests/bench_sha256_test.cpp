#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/sha256.h"
#include "core/error.h"

using namespace flashslim::bench;

namespace {

std::string hash_of(const std::string& text) {
  return sha256_hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

// FIPS 180-2 appendix B vectors.
TEST(BenchSha256, KnownVectors) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hash_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(BenchSha256, PieceSizesDoNotMatter) {
  std::vector<uint8_t> data(10007);
  std::mt19937 rng(7);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  const std::string whole = sha256_hex(data);
  for (size_t piece : {1u, 55u, 56u, 63u, 64u, 65u, 1000u}) {
    Sha256 hash;
    for (size_t at = 0; at < data.size(); at += piece)
      hash.update(std::span(data).subspan(at, std::min(piece, data.size() - at)));
    EXPECT_EQ(to_hex(hash.finish()), whole) << "piece " << piece;
  }
}

TEST(BenchSha256, FileMatchesSha256sum) {
  if (std::system("command -v sha256sum > /dev/null") != 0) GTEST_SKIP() << "sha256sum missing";
  const auto path =
      std::filesystem::temp_directory_path() / ("sha256-test-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    std::mt19937 rng(11);
    for (int i = 0; i < 3 * (1 << 20) + 123; ++i) out.put(static_cast<char>(rng()));
  }
  FILE* pipe = ::popen(("sha256sum " + path.string()).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char expected[65] = {};
  ASSERT_EQ(std::fread(expected, 1, 64, pipe), 64u);
  ::pclose(pipe);
  EXPECT_EQ(sha256_hex_of_file(path), expected);
  std::filesystem::remove(path);
  EXPECT_THROW(sha256_hex_of_file(path), flashslim::Error);
}
