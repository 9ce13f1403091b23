// nnbpf run as a service: the daemon (daemon.h) plus what a deployment adds
// around it: a model given as .onnx (compiled at start), the Prometheus
// endpoint (metrics.h over http_server.h) and the model watcher (watch.h).
#pragma once

#include <string>

#include "runtime/daemon.h"
#include "runtime/model_compiler.h"

namespace nnbpf::runtime {

struct ServiceOptions {
  std::string metrics_addr;  // "" = no metrics endpoint
  bool watch_model = false;
  ModelCompiler compiler;    // for a model given as .onnx
};

// Starts the endpoint and the watcher (failures here happen before anything
// is attached), runs the pipeline until signalled, stops them again.
Status run_service(RunOptions opts, const ServiceOptions& svc);

}  // namespace nnbpf::runtime
