// libFuzzer target: parse_buffer must either return a File or throw
// flashslim::Error on any input: no crash, hang, leak or giant allocation.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "gguf/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    flashslim::gguf::File f = flashslim::gguf::parse_buffer({data, size}, "fuzz.gguf");
    // Touch what consumers read, so the sanitizers check the parsed index too.
    for (const auto& t : f.tensors)
      if (t.offset + t.nbytes > size) __builtin_trap();
  } catch (const flashslim::Error&) {
  }
  return 0;
}
