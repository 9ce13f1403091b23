// nnbpf command line: thin wrapper over the compiler driver and the runtime.
// Only this file turns errors into exit codes: 0 ok, 1 runtime error,
// 2 bad input or usage.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"nnbpf: neural-network intrusion detection and prevention in the Linux kernel (XDP/eBPF)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nnbpf 0.1.0");
  nnbpf::cli::register_compiler_commands(app);
  nnbpf::cli::register_runtime_commands(app);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (auto st = nnbpf::cli::expand_config(app, args); !st) {
    nnbpf::cli::report(args[0], st.error());
    return nnbpf::cli::exit_code();
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  app.name(argc > 0 ? argv[0] : "nnbpf");
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "nnbpf: " << e.what() << "\n";
    return 2;
  }
  return nnbpf::cli::exit_code();
}
