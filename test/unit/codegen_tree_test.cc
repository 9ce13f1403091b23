// Tree parameter slots: serialize_params / deserialize_params round-trip a
// compiled tree (what nnbpf update writes and load_artifact reads back), and a
// slot whose nodes point outside their arrays is refused.
#include <gtest/gtest.h>

#include <cstring>

#include "compiler/codegen/params_layout.h"
#include "compiler/frontend/onnx_loader.h"
#include "compiler/passes/quantize.h"
#include "nnbpf/abi.h"

namespace nnbpf::compiler {
namespace {

QuantModel compiled(const std::string& name) {
  auto fm = load_onnx_file(std::string(NNBPF_FIXTURES_DIR) + "/" + name, {});
  EXPECT_TRUE(fm.ok()) << (fm.ok() ? "" : fm.error().message);
  auto q = quantize(*fm, {});
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
  return *q;
}

QuantModel shape_of(const QuantModel& m) {  // what load_artifact knows from the manifest
  QuantModel s;
  s.features = m.features;
  QuantTreeEnsemble t;
  t.n_outputs = m.tree().n_outputs;
  t.node_capacity = m.tree().node_capacity;
  t.leaf_capacity = m.tree().leaf_capacity;
  t.depths = m.tree().depths;
  s.kind = t;
  return s;
}

TEST(TreeParams, RoundTrip) {
  const QuantModel m = compiled("tree_ens3.onnx");
  const ParamLayout l = layout_params(m);
  EXPECT_EQ(l.tree_nodes_offset, sizeof(nnbpf_params_hdr));
  EXPECT_EQ(l.tree_leaves_offset, l.tree_nodes_offset + 16u * m.tree().node_capacity);
  EXPECT_EQ(l.total_bytes % 8, 0u);
  const auto bytes = serialize_params(m, 7);
  ASSERT_EQ(bytes.size(), l.total_bytes);
  auto back = deserialize_params(shape_of(m), bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->b, m.b);
  EXPECT_EQ(back->tree().roots, m.tree().roots);
  EXPECT_EQ(back->tree().leaf_values, m.tree().leaf_values);
  ASSERT_EQ(back->tree().nodes.size(), m.tree().nodes.size());
  for (size_t i = 0; i < m.tree().nodes.size(); ++i) {
    const auto &a = back->tree().nodes[i], &b = m.tree().nodes[i];
    EXPECT_TRUE(a.threshold == b.threshold && a.true_child == b.true_child && a.false_child == b.false_child &&
                a.leaf == b.leaf && a.feature == b.feature && a.op == b.op)
        << "node " << i;
  }
}

TEST(TreeParams, RefusesOutOfRangeNodes) {
  const QuantModel m = compiled("tree_d3.onnx");
  const ParamLayout l = layout_params(m);
  auto corrupt = [&](size_t field_offset, const void* v, size_t n) {
    auto bytes = serialize_params(m, 1);
    std::memcpy(bytes.data() + l.tree_nodes_offset + field_offset, v, n);
    return deserialize_params(shape_of(m), bytes);
  };
  const uint16_t child = static_cast<uint16_t>(m.tree().node_capacity);
  const uint8_t feature = 6, op = 2;
  auto r1 = corrupt(offsetof(nnbpf_tree_node, true_child), &child, 2);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message.find("child index out of the node array"), std::string::npos);
  auto r2 = corrupt(offsetof(nnbpf_tree_node, feature), &feature, 1);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message.find("feature out of range"), std::string::npos);
  auto r3 = corrupt(offsetof(nnbpf_tree_node, op), &op, 1);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message.find("unknown op"), std::string::npos);
}

}  // namespace
}  // namespace nnbpf::compiler
