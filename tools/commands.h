// Subcommand registration for the nnbpf CLI (noun/verb, CLI11). Each command
// stores its exit code through set_exit(); main() returns it.
#pragma once

#include <CLI/CLI.hpp>

#include "compiler/support/result.h"

namespace nnbpf::cli {

void register_compiler_commands(CLI::App& app);  // compile, check, infer
void register_runtime_commands(CLI::App& app);   // run, update, hosts, stats, bench

// Print "nnbpf <cmd>: <message>" (first line of the message on one line, any
// detail lines after it) and record the error's exit code.
void report(const std::string& cmd, const Error& e);
void set_exit(int code);
int exit_code();

}  // namespace nnbpf::cli
