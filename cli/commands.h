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

namespace nnbpf::runtime {
struct ServiceOptions;
struct RunOptions;
}

namespace nnbpf::cli {

// `nnbpf run|update --config FILE`: rewrites args (argv without argv[0]) so
// that every key of FILE the command line does not set becomes an option
// (cli/cmd_config.cc). Errors name the file, line and key.
Status expand_config(CLI::App& app, std::vector<std::string>& args);
// --metrics-addr, --watch-model, --attach, --xdp-priority and --config on nnbpf run.
void register_service_options(CLI::App* run, runtime::ServiceOptions* svc, runtime::RunOptions* opts);
void add_config_option(CLI::App* sub);

}  // namespace nnbpf::cli
