// Checks on what the pipeline reported: an event's features by name, and its
// logits and verdict against the reference interpreter, bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include "compiler/driver/pipeline.h"
#include "nnbpf/abi.h"

namespace nnbpf::testing {

bool same_key(const nnbpf_flow_key& a, const nnbpf_flow_key& b);

// The index of a feature in the artifact's model, -1 if it has none of that name.
int feature_index(const compiler::Artifact& a, const std::string& name);
// The event's value of the named feature (a failure if the model lacks it).
uint64_t feature(const compiler::Artifact& a, const nnbpf_event& e, const std::string& name);

// The event's logits and verdict are what the reference interpreter computes
// on the event's features.
void expect_reference(const compiler::QuantModel& m, const nnbpf_event& e);

}  // namespace nnbpf::testing
