#pragma once
// Reading and writing the small text files through which Linux exposes and takes
// settings (/proc, /sys, cgroupfs). Writes use one write(2) call, because the kernel
// reports a rejected value (EINVAL, EBUSY, EPERM) from that call.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace flashslim::bench {

// Whole file; throws Error naming the path and errno text.
std::string read_kernel_file(const std::filesystem::path& path);
// std::nullopt when the file cannot be opened (absent, no permission).
std::optional<std::string> try_read_kernel_file(const std::filesystem::path& path);
// The file holds one unsigned decimal number (trailing newline allowed).
uint64_t read_kernel_u64(const std::filesystem::path& path);
// Throws Error "cannot write 'value' to PATH: <errno text>".
void write_kernel_file(const std::filesystem::path& path, std::string_view value);

// Value of `key` in "key value" lines (memory.stat, memory.events, memory.oom_control)
// or "key: value" lines (/proc/PID/io); std::nullopt if the key is absent.
std::optional<uint64_t> find_keyed_u64(std::string_view text, std::string_view key);
// Value of `key` in /proc/meminfo text ("MemAvailable:    1234 kB"), in bytes: a value in
// kB is KiB; one without a unit (HugePages_Total) is returned as it stands. std::nullopt
// if the key is absent or its value is not a number.
std::optional<uint64_t> find_meminfo_bytes(std::string_view meminfo, std::string_view key);

}  // namespace flashslim::bench
