// Tensor-name classification and layer indices.
#include <gtest/gtest.h>

#include "gguf/tensor_class.h"

namespace flashslim::gguf {
namespace {

TEST(TensorClass, ClassifiesLlamaNames) {
  EXPECT_EQ(classify("blk.0.attn_q.weight"), TensorClass::Attention);
  EXPECT_EQ(classify("blk.12.attn_norm.weight"), TensorClass::Attention);
  EXPECT_EQ(classify("blk.3.attn_k.bias"), TensorClass::Attention);
  EXPECT_EQ(classify("blk.3.ffn_gate.weight"), TensorClass::FFN);
  EXPECT_EQ(classify("blk.3.ffn_norm.weight"), TensorClass::FFN);
  EXPECT_EQ(classify("token_embd.weight"), TensorClass::Embedding);
  EXPECT_EQ(classify("output.weight"), TensorClass::Output);
  EXPECT_EQ(classify("output_norm.weight"), TensorClass::Output);
  EXPECT_EQ(classify("rope_freqs.weight"), TensorClass::Other);
  EXPECT_EQ(classify("blk.x.attn_q.weight"), TensorClass::Other);
  EXPECT_STREQ(tensor_class_name(TensorClass::FFN), "ffn");
}

TEST(TensorClass, LayerIndex) {
  EXPECT_EQ(layer_index("blk.0.attn_q.weight"), 0);
  EXPECT_EQ(layer_index("blk.31.ffn_down.weight"), 31);
  EXPECT_EQ(layer_index("token_embd.weight"), std::nullopt);
  EXPECT_EQ(layer_index("blk.attn_q.weight"), std::nullopt);
  EXPECT_EQ(layer_index("blk.7"), std::nullopt);
  EXPECT_EQ(layer_index("blk.-1.attn_q.weight"), std::nullopt);
  EXPECT_EQ(layer_index("blk.99999999999.attn_q.weight"), std::nullopt);
}

}  // namespace
}  // namespace flashslim::gguf
