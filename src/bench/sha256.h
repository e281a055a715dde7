#pragma once
// SHA-256 (FIPS 180-4), for provenance: which exact model file a result came from.
// Streaming, so multi-GB model files are hashed in fixed memory.
#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace flashslim::bench {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> bytes);
  // The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string to_hex(std::span<const uint8_t> bytes);
// Lower-case hex digest of a byte string / of a file's contents (read in 1 MiB pieces;
// throws Error naming the path on failure).
std::string sha256_hex(std::span<const uint8_t> bytes);
std::string sha256_hex_of_file(const std::filesystem::path& path);

}  // namespace flashslim::bench
