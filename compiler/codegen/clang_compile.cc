#include "compiler/codegen/clang_compile.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "compiler/codegen/embedded.h"

namespace nnbpf::compiler {

namespace {
constexpr const char* kVirtualRoot = "/nnbpf-embedded";
constexpr const char* kMainFile = "/nnbpf-embedded/model.bpf.c";

void init_bpf_target() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
    LLVMInitializeBPFAsmParser();  // inline asm (bpf_rt/include/nnbpf/mlp.h)
    // Schedule in source order: the emitted accumulation chains then keep one
    // product live at a time instead of hoisting every load and spilling.
    const char* argv[] = {"nnbpf", "-pre-RA-sched=source"};
    llvm::cl::ParseCommandLineOptions(2, argv, "nnbpf BPF code generator\n");
  });
}
}  // namespace

Result<ClangOutput> compile_bpf_c(const std::string& source, const std::string& mcpu) {
  if (mcpu != "v3" && mcpu != "v4" && mcpu != "v2")
    return Error::bad_input("unsupported BPF ISA '" + mcpu + "' (use v2, v3 or v4)");
  init_bpf_target();

  // Embedded runtime files and the generated unit live in an in-memory file
  // system laid over the real one (system headers stay on disk).
  auto mem = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
  for (const auto& f : embedded_files())
    mem->addFile(std::string(kVirtualRoot) + "/" + f.path, 0, llvm::MemoryBuffer::getMemBufferCopy(f.contents));
  mem->addFile(kMainFile, 0, llvm::MemoryBuffer::getMemBufferCopy(source));
  auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(llvm::vfs::getRealFileSystem());
  overlay->pushOverlay(mem);

  // Output goes to a temporary file which we read back.
  char tmpl[] = "/tmp/nnbpf-obj-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return Error::runtime("cannot create a temporary file in /tmp");
  close(fd);
  std::string out_path = tmpl;

  std::string cpu_arg = mcpu;
  std::vector<const char*> args = {
      "-triple", "bpfel", "-emit-obj", "-target-cpu", cpu_arg.c_str(),
      "-O2", "-debug-info-kind=constructor", "-dwarf-version=5",
      "-resource-dir", NNBPF_CLANG_RESOURCE_DIR,
      "-I", kVirtualRoot,
      "-internal-isystem", NNBPF_CLANG_RESOURCE_DIR "/include",
      "-internal-externc-isystem", "/usr/include/" NNBPF_MULTIARCH,
      "-internal-externc-isystem", "/usr/include",
      "-D__TARGET_ARCH_" NNBPF_TARGET_ARCH, "-D__BPF_TRACING__",
      "-Wno-unused-function", "-Wno-compare-distinct-pointer-types",
      "-ferror-limit", "8",
      "-o", out_path.c_str(), "-x", "c", kMainFile};

  std::string diag_text;
  llvm::raw_string_ostream diag_os(diag_text);
  auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
  auto printer = std::make_unique<clang::TextDiagnosticPrinter>(diag_os, diag_opts.get());
  auto diag_ids = llvm::makeIntrusiveRefCnt<clang::DiagnosticIDs>();
  clang::DiagnosticsEngine diags(diag_ids, diag_opts, printer.get(), /*ShouldOwnClient=*/false);

  auto invocation = std::make_shared<clang::CompilerInvocation>();
  if (!clang::CompilerInvocation::CreateFromArgs(*invocation, args, diags)) {
    std::remove(out_path.c_str());
    return Error::runtime("clang rejected the BPF compile options: " + diag_os.str());
  }

  clang::CompilerInstance ci;
  ci.setInvocation(invocation);
  ci.createDiagnostics(printer.get(), /*ShouldOwnClient=*/false);
  ci.createFileManager(overlay);
  ci.createSourceManager(ci.getFileManager());

  clang::EmitObjAction action;
  bool ok = ci.ExecuteAction(action);
  diag_os.flush();
  if (!ok) {
    std::remove(out_path.c_str());
    // First error line only: one-line errors; the full text with --emit c.
    std::istringstream lines(diag_text);
    std::string line, first;
    while (std::getline(lines, line))
      if (line.find("error:") != std::string::npos) {
        first = line;
        break;
      }
    return Error::runtime("BPF code generation failed: " + (first.empty() ? diag_text : first));
  }
  std::ifstream in(out_path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::remove(out_path.c_str());
  return ClangOutput{buf.str(), diag_text};
}

}  // namespace nnbpf::compiler
