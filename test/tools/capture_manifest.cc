// Prints the manifest of nnbpf capture's pipeline (compiler::compile_capture:
// every catalog feature, no model). Only nnbpf capture writes that manifest,
// as root, into a private directory; tools.manifest_schema validates this
// copy against docs/manifest.schema.json with the models' manifests.
#include <iostream>

#include "compiler/driver/pipeline.h"

int main() {
  auto r = nnbpf::compiler::compile_capture();
  if (!r) {
    std::cerr << "capture_manifest: " << r.error().message << "\n";
    return 1;
  }
  std::cout << nnbpf::compiler::manifest_text(nnbpf::compiler::make_manifest(*r));
  return 0;
}
