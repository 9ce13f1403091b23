// The int8 parameter slot (compiler/codegen/params_layout.cc): byte weights,
// 4-aligned int32 biases and the requantization pair per layer; serialize and
// deserialize are inverses (what nnbpf update and load_artifact rely on), and
// a slot with an impossible requantization shift is refused.
#include <gtest/gtest.h>

#include <cstring>

#include "compiler/codegen/params_layout.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/passes/quantize.h"

namespace nnbpf::compiler {
namespace {

QuantModel int8_model(QuantMode mode) {
  auto f = load_onnx_file(std::string(NNBPF_FIXTURES_DIR) + "/mlp_6_32_32_2.onnx", {});
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  QuantOptions opts;
  opts.mode = mode;
  auto q = quantize(*f, opts);
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
  return *q;
}

TEST(Int8Layout, OffsetsAndSize) {
  const QuantModel q = int8_model(QuantMode::Int8);
  const ParamLayout l = layout_params(q);
  ASSERT_EQ(l.layers.size(), 3u);
  EXPECT_EQ(l.layers[0].weight_bytes, 1);
  EXPECT_EQ(l.layers[0].weight_offset, sizeof(nnbpf_params_hdr) + 6 * sizeof(nnbpf_input_param));
  EXPECT_EQ(l.layers[0].bias_offset, l.layers[0].weight_offset + 32 * 6);
  EXPECT_EQ(l.layers[0].requant_offset, l.layers[0].bias_offset + 4 * 32);
  EXPECT_EQ(l.layers[1].weight_offset, l.layers[0].requant_offset + 8);
  EXPECT_EQ(l.layers[2].bias_offset % 4, 0u);
  // 296 header+inputs, 1,280 weights, 66 biases, 3 requantization pairs.
  EXPECT_EQ(l.total_bytes, 296u + 1280 + 4 * 66 + 3 * 8);
  // int32: 4-byte weights and the per-layer exponents (3 x uint32), 8-aligned.
  const ParamLayout l32 = layout_params(int8_model(QuantMode::Int32));
  EXPECT_EQ(l32.layer_b_offset, 296u + 4 * (1280 + 66));
  EXPECT_EQ(l32.total_bytes, 296u + 4 * (1280 + 66) + 16);
  EXPECT_EQ(l.layer_b_offset, 0u);  // int8: none
}

TEST(Int8Layout, SerializeDeserializeRoundTrip) {
  const QuantModel q = int8_model(QuantMode::Int8);
  const std::vector<uint8_t> bytes = serialize_params(q, 7);
  QuantModel shape;
  shape.mlp().mode = QuantMode::Int8;
  shape.features = q.features;
  shape.digest = q.digest;
  shape.mlp().inputs.resize(q.mlp().inputs.size());
  for (const QuantLayer& l : q.mlp().layers) {
    QuantLayer s;
    s.in = l.in;
    s.out = l.out;
    s.relu = l.relu;
    s.has_bias = l.has_bias;
    shape.mlp().layers.push_back(s);
  }
  auto back = deserialize_params(shape, bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->b, q.b);
  for (size_t k = 0; k < q.mlp().layers.size(); ++k) {
    EXPECT_EQ(back->mlp().layers[k].weight, q.mlp().layers[k].weight) << k;
    EXPECT_EQ(back->mlp().layers[k].bias, q.mlp().layers[k].bias) << k;
    EXPECT_EQ(back->mlp().layers[k].rq_mult, q.mlp().layers[k].rq_mult) << k;
    EXPECT_EQ(back->mlp().layers[k].rq_shift, q.mlp().layers[k].rq_shift) << k;
  }
  bool negative = false;
  for (int32_t w : q.mlp().layers[0].weight) negative = negative || w < 0;
  EXPECT_TRUE(negative) << "sign extension of byte weights is not exercised";

  // A slot whose hidden layer shifts by 0 is refused, naming the layer.
  std::vector<uint8_t> bad = bytes;
  const uint32_t zero = 0;
  std::memcpy(bad.data() + layout_params(q).layers[1].requant_offset + 4, &zero, 4);
  auto r = deserialize_params(shape, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("layer 1 requantization"), std::string::npos) << r.error().message;
}

// The int32 slot carries the per-layer exponents (docs/semantics.md#per-layer)
// after the last layer: they round-trip, a slot without them (a manifest
// without quant.layer_b) reads every layer at b, and one above 30 is refused.
TEST(Int32Layout, LayerExponentsRoundTrip) {
  QuantModel q = int8_model(QuantMode::Int32);
  ASSERT_TRUE(q.mlp().layer_exponents);
  q.mlp().layers[1].b = q.b + 2;  // distinct values, whatever the choice was
  const std::vector<uint8_t> bytes = serialize_params(q, 3);
  QuantModel shape;
  shape.features = q.features;
  shape.mlp().inputs.resize(q.mlp().inputs.size());
  shape.mlp().layer_exponents = true;
  for (const QuantLayer& l : q.mlp().layers) {
    QuantLayer s;
    s.in = l.in;
    s.out = l.out;
    shape.mlp().layers.push_back(s);
  }
  auto back = deserialize_params(shape, bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  for (size_t k = 0; k < q.mlp().layers.size(); ++k) EXPECT_EQ(back->layer_exponent(k), q.layer_exponent(k)) << k;
  EXPECT_EQ(back->layer_shift(2), q.b + 2);

  std::vector<uint8_t> bad = bytes;
  const uint32_t big = 31;
  std::memcpy(bad.data() + layout_params(q).layer_b_offset + 4, &big, 4);
  auto r = deserialize_params(shape, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("layer 1 exponent b=31"), std::string::npos) << r.error().message;

  QuantModel legacy = q;
  legacy.mlp().layer_exponents = false;
  shape.mlp().layer_exponents = false;
  auto old = deserialize_params(shape, serialize_params(legacy, 3));
  ASSERT_TRUE(old.ok()) << old.error().message;
  for (size_t k = 0; k < q.mlp().layers.size(); ++k) EXPECT_EQ(old->layer_exponent(k), q.b) << k;
}

}  // namespace
}  // namespace nnbpf::compiler
