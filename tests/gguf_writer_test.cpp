// gguf::Writer: files it writes read back with every metadata type, tensor
// shape, offset and data byte intact; misuse is an error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "gguf/gguf.h"

namespace flashslim::gguf {
namespace {

namespace fs = std::filesystem;

class GgufWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("gguf_writer_test_{}_{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

std::vector<uint8_t> file_bytes(const std::string& path, uint64_t offset, uint64_t n) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<uint8_t> v(n);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n));
  EXPECT_EQ(static_cast<uint64_t>(in.gcount()), n);
  return v;
}

Value typed(ValueType t, ValueType elem_type = ValueType::UINT8) {
  Value v;
  v.type = t;
  v.elem_type = elem_type;
  return v;
}

TEST_F(GgufWriterTest, RoundTripsEveryValueTypeAndTensorData) {
  for (uint32_t version : {2u, 3u}) {
    for (uint64_t alignment : {32u, 64u}) {
      SCOPED_TRACE(fmt::format("version {} alignment {}", version, alignment));
      const std::string file = path("model.gguf");
      Writer w(file, version, alignment);
      Value u8 = typed(ValueType::UINT8), i8 = typed(ValueType::INT8);
      Value u16 = typed(ValueType::UINT16), i16 = typed(ValueType::INT16);
      Value i32 = typed(ValueType::INT32), u64 = typed(ValueType::UINT64);
      Value i64 = typed(ValueType::INT64), f64 = typed(ValueType::FLOAT64);
      u8.u = 200, i8.i = -100, u16.u = 65000, i16.i = -32000, i32.i = -2000000000;
      u64.u = 1ull << 60, i64.i = -(1ll << 60), f64.f = 1e-300;
      Value u16s = typed(ValueType::ARRAY, ValueType::UINT16);
      u16s.uints = {1, 2, 65535};
      Value bools = typed(ValueType::ARRAY, ValueType::BOOL);
      bools.uints = {1, 0, 1};
      w.set("t.u8", u8);
      w.set("t.i8", i8);
      w.set("t.u16", u16);
      w.set("t.i16", i16);
      w.set_uint32("t.u32", 4000000000u);
      w.set("t.i32", i32);
      w.set_float32("t.f32", 0.25f);
      w.set_bool("t.bool", true);
      w.set_string("t.string", "héllo");
      w.set("t.u64", u64);
      w.set("t.i64", i64);
      w.set("t.f64", f64);
      w.set_string_array("t.strings", {"a", "", "ccc"});
      w.set_float32_array("t.floats", {1.5f, -2.0f});
      w.set_int32_array("t.ints", {-1, 7});
      w.set("t.u16s", u16s);
      w.set("t.bools", bools);
      w.set_uint32("t.replaced", 1);
      w.set_uint32("t.replaced", 2);

      EXPECT_EQ(w.add_tensor("f32", GgmlType::F32, {3, 5}), 0u);
      EXPECT_EQ(w.add_tensor("q8", GgmlType::Q8_0, {64, 3}), 1u);
      EXPECT_EQ(w.add_tensor("q4k", GgmlType::Q4_K, {256, 2, 1}), 2u);
      w.write_header();
      const auto f32_data = pattern(3 * 5 * 4, 1);
      const auto q8_data = pattern(2 * 34 * 3, 2);
      const auto q4k_data = pattern(144 * 2, 3);
      w.write_data(f32_data);
      // Several pieces for one tensor.
      w.write_data(std::span(q8_data).first(10));
      w.write_data(std::span(q8_data).subspan(10));
      w.write_data(q4k_data);
      w.finish();

      File f = read_file(file);
      EXPECT_EQ(f.version, version);
      EXPECT_EQ(f.alignment, alignment);
      const Metadata& m = f.meta;
      EXPECT_EQ(m.get_uint("t.u8"), 200u);
      EXPECT_EQ(m.get_int("t.i8"), -100);
      EXPECT_EQ(m.get_uint("t.u16"), 65000u);
      EXPECT_EQ(m.get_int("t.i16"), -32000);
      EXPECT_EQ(m.get_uint("t.u32"), 4000000000u);
      EXPECT_EQ(m.get_int("t.i32"), -2000000000);
      EXPECT_EQ(m.get_float("t.f32"), 0.25);
      EXPECT_EQ(m.get_bool("t.bool"), true);
      EXPECT_EQ(m.get_string("t.string"), "héllo");
      EXPECT_EQ(m.get_uint("t.u64"), 1ull << 60);
      EXPECT_EQ(m.get_int("t.i64"), -(1ll << 60));
      EXPECT_EQ(m.get_float("t.f64"), 1e-300);
      EXPECT_EQ(m.find("t.u8")->type, ValueType::UINT8);
      EXPECT_EQ(m.find("t.f64")->type, ValueType::FLOAT64);
      ASSERT_NE(m.get_string_array("t.strings"), nullptr);
      EXPECT_EQ(*m.get_string_array("t.strings"), (std::vector<std::string>{"a", "", "ccc"}));
      ASSERT_NE(m.get_float_array("t.floats"), nullptr);
      EXPECT_EQ(*m.get_float_array("t.floats"), (std::vector<double>{1.5, -2.0}));
      ASSERT_NE(m.get_int_array("t.ints"), nullptr);
      EXPECT_EQ(*m.get_int_array("t.ints"), (std::vector<int64_t>{-1, 7}));
      EXPECT_EQ(m.find("t.u16s")->uints, (std::vector<uint64_t>{1, 2, 65535}));
      EXPECT_EQ(m.find("t.u16s")->array_size, 3u);
      EXPECT_EQ(m.find("t.bools")->uints, (std::vector<uint64_t>{1, 0, 1}));
      EXPECT_EQ(m.get_uint("t.replaced"), 2u);
      EXPECT_EQ(m.entries().size(), 18u + (alignment == 32 ? 0 : 1));

      ASSERT_EQ(f.tensors.size(), 3u);
      const TensorInfo& q4k = f.tensors[2];
      EXPECT_EQ(q4k.name, "q4k");
      EXPECT_EQ(q4k.type, GgmlType::Q4_K);
      EXPECT_EQ(q4k.n_dims, 3u);
      EXPECT_EQ(q4k.ne, (std::array<int64_t, 4>{256, 2, 1, 1}));
      EXPECT_EQ(f.tensors[1].nbytes, q8_data.size());
      EXPECT_EQ(f.tensors[1].row_bytes(), 68u);
      for (const TensorInfo& t : f.tensors) EXPECT_EQ(t.offset % alignment, 0u) << t.name;
      EXPECT_EQ(file_bytes(file, f.tensors[0].offset, f32_data.size()), f32_data);
      EXPECT_EQ(file_bytes(file, f.tensors[1].offset, q8_data.size()), q8_data);
      EXPECT_EQ(file_bytes(file, q4k.offset, q4k_data.size()), q4k_data);
      EXPECT_EQ(f.file_size % alignment, 0u);
      EXPECT_FALSE(fs::exists(file + ".partial"));
    }
  }
}

TEST_F(GgufWriterTest, RejectsDataBeyondATensor) {
  Writer w(path("x.gguf"));
  w.add_tensor("a", GgmlType::F32, {4});
  w.write_header();
  const auto data = pattern(20, 0);
  try {
    w.write_data(data);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("tensor 'a' (index 0) would receive 20 bytes, more than its 16"),
        std::string::npos)
        << e.what();
  }
}

TEST_F(GgufWriterTest, FinishRequiresEveryTensorComplete) {
  const std::string file = path("x.gguf");
  {
    Writer w(file);
    w.add_tensor("a", GgmlType::F32, {4});
    w.add_tensor("b", GgmlType::F32, {4});
    w.write_header();
    w.write_data(pattern(16, 0));
    w.write_data(pattern(4, 0));
    try {
      w.finish();
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tensor 'b' (index 1) received 4 of its 16 bytes"),
                std::string::npos)
          << e.what();
    }
  }
  // An unfinished writer leaves nothing behind.
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".partial"));
}

TEST_F(GgufWriterTest, RejectsInvalidTensors) {
  Writer w(path("x.gguf"));
  w.add_tensor("a", GgmlType::F32, {4});
  EXPECT_THROW(w.add_tensor("a", GgmlType::F32, {4}), Error);
  EXPECT_THROW(w.add_tensor("b", GgmlType::Q8_0, {33}), Error);
  EXPECT_THROW(w.add_tensor("c", GgmlType::F32, {}), Error);
  EXPECT_THROW(w.add_tensor("d", GgmlType::F32, {1, 1, 1, 1, 1}), Error);
  EXPECT_THROW(w.add_tensor("e", GgmlType::F32, {4, 0}), Error);
  EXPECT_THROW(Writer(path("y.gguf"), 4), Error);
  EXPECT_THROW(Writer(path("y.gguf"), 3, 48), Error);
}

TEST_F(GgufWriterTest, ReportsUnwritablePath) {
  Writer w(path("missing-dir/x.gguf"));
  try {
    w.write_header();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flashslim::gguf
