#include <iostream>

#include "commands.h"

namespace nnbpf::cli {

namespace {
int g_exit = 0;
}

void report(const std::string& cmd, const Error& e) {
  std::cerr << "nnbpf " << cmd << ": " << e.message;
  if (e.message.empty() || e.message.back() != '\n') std::cerr << "\n";
  set_exit(static_cast<int>(e.kind));
}

void set_exit(int code) {
  if (code > g_exit) g_exit = code;
}
int exit_code() { return g_exit; }

}  // namespace nnbpf::cli
