// --config FILE for nnbpf run and nnbpf update, and the service options of
// nnbpf run (--metrics-addr, --watch-model). A configuration file
// (runtime/config.h) is turned into command-line tokens for every key the
// command line does not already set, so the file format follows the
// command's long options with no per-option code: an option added to
// `nnbpf run` is a valid key at once. Each value is checked on its own, with
// the command's own parser, so an error names the file, the line and the key.
#include <algorithm>
#include <iostream>

#include "commands.h"
#include "runtime/config.h"
#include "runtime/daemon.h"
#include "runtime/http_server.h"
#include "runtime/service.h"

namespace nnbpf::cli {

namespace {

bool is_flag(const CLI::Option* o) { return o->get_expected_min() == 0; }
bool is_repeatable(const CLI::Option* o) { return o->get_expected_max() > 1; }

// Positional argument of a subcommand (the model), or null.
const CLI::Option* positional_of(const CLI::App* sub) {
  for (const CLI::Option* o : sub->get_options())
    if (o->get_lnames().empty() && o->get_snames().empty() && !o->get_name().empty()) return o;
  return nullptr;
}

const CLI::Option* option_for(const CLI::App* sub, const std::string& key) {
  if (key == "model") return positional_of(sub);
  if (key == "config") return nullptr;
  return sub->get_option_no_throw("--" + key);
}

Result<bool> flag_value(const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  return Error::bad_input("'" + v + "' is not true or false");
}

// Durations are checked as `nnbpf run` will parse them (options named *-ttl,
// *-timeout, *interval take "300s", "5m", "250ms").
bool is_duration_key(const std::string& k) {
  auto ends = [&](const std::string& s) { return k.size() >= s.size() && k.compare(k.size() - s.size(), s.size(), s) == 0; };
  return ends("ttl") || ends("timeout") || ends("interval");
}

// Parses one option with a fresh copy of the command's parser, callbacks off.
Status probe_value(const std::string& sub_name, const std::string& key, const CLI::Option* opt,
                   const std::string& value) {
  CLI::App probe;
  register_runtime_commands(probe);
  CLI::App* sub = probe.get_subcommand(sub_name);
  sub->callback([] {});
  for (CLI::Option* o : sub->get_options()) o->required(false);
  std::vector<std::string> args;  // reversed, as CLI11 wants them
  if (key == "model") {
    args = {value, sub_name};
  } else {
    args = {"--" + key + "=" + value, sub_name};
  }
  try {
    probe.parse(args);
  } catch (const CLI::ParseError& e) {
    return Error::bad_input(e.what());
  }
  if (is_duration_key(key)) NNBPF_CHECK(runtime::parse_duration(value));
  return ok_status();
}

}  // namespace

namespace {

// A run or update command line with --config taken out, and what it sets.
struct CommandLine {
  std::vector<std::string> args;  // the subcommand, then its arguments
  std::vector<std::string> files;  // --config FILE
  std::vector<const CLI::Option*> given;
  bool positional_given = false;
};

Result<CommandLine> split_command_line(const std::vector<std::string>& args, CLI::App* sub) {
  CommandLine c;
  c.args = {args[0]};
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& t = args[i];
    if (t == "--config" || t.rfind("--config=", 0) == 0) {
      if (t == "--config") {
        if (i + 1 >= args.size()) return Error::bad_input("--config needs a FILE");
        c.files.push_back(args[++i]);
      } else {
        c.files.push_back(t.substr(9));
      }
      continue;
    }
    c.args.push_back(t);
    if (t.size() > 1 && t[0] == '-') {
      std::string name = t.substr(0, t.find('='));
      const CLI::Option* o = sub->get_option_no_throw(name);
      if (o) {
        c.given.push_back(o);
        if (!is_flag(o) && t.find('=') == std::string::npos && i + 1 < args.size()) c.args.push_back(args[++i]);
      }
    } else {
      c.positional_given = true;
    }
  }
  return c;
}

// The file's entries as arguments of `sub` (the model into `c.args`, the
// options into `extra`), except what the command line sets itself.
Status apply_config_entries(const std::string& file, const std::vector<runtime::ConfigEntry>& entries, CLI::App* sub,
                            CLI::App* run, CommandLine& c, std::vector<std::string>& extra) {
  std::vector<std::pair<std::string, int>> seen;  // key, first line
  for (const auto& e : entries) {
    const std::string where = file + ":" + std::to_string(e.line) + ": key '" + e.key + "': ";
    const CLI::Option* o = option_for(sub, e.key);
    // nnbpf update reads the model (and the interface) from the run
    // configuration and ignores the keys only `nnbpf run` has.
    if (!o && sub != run && option_for(run, e.key)) continue;
    if (!o)
      return Error::bad_input(file + ":" + std::to_string(e.line) + ": unknown key '" + e.key +
                              "' (keys are 'model' and the long options of nnbpf run, see docs/deploy.md)");
    auto prev = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == e.key; });
    if (prev != seen.end() && (e.key == "model" || !is_repeatable(o)))
      return Error::bad_input(where + "given twice (first on line " + std::to_string(prev->second) + ")");
    if (prev == seen.end()) seen.emplace_back(e.key, e.line);
    if (e.key == "model" ? c.positional_given : std::find(c.given.begin(), c.given.end(), o) != c.given.end())
      continue;  // the command line overrides the file
    if (is_flag(o)) {
      auto on = flag_value(e.value);
      if (!on) return on.error().with_context(where);
      if (*on) extra.push_back("--" + e.key);
      continue;
    }
    if (auto p = probe_value(c.args[0], e.key, o, e.value); !p) return p.error().with_context(where);
    if (e.key == "model")
      c.args.insert(c.args.begin() + 1, e.value);
    else
      extra.push_back("--" + e.key + "=" + e.value);
  }
  return ok_status();
}

}  // namespace

Status expand_config(CLI::App& app, std::vector<std::string>& args) {
  if (args.empty()) return ok_status();
  const std::string sub_name = args[0];
  if (sub_name != "run" && sub_name != "update") return ok_status();
  CLI::App* sub = app.get_subcommand(sub_name);
  CLI::App* run = app.get_subcommand("run");

  // Take --config out of the command line; note what the command line sets.
  NNBPF_TRY(c, split_command_line(args, sub));
  if (c.files.empty()) return ok_status();
  if (c.files.size() > 1) return Error::bad_input("--config given more than once");
  const std::string& file = c.files[0];
  NNBPF_TRY(entries, runtime::read_config_file(file));
  std::vector<std::string> extra;
  NNBPF_CHECK(apply_config_entries(file, entries, sub, run, c, extra));
  c.args.insert(c.args.end(), extra.begin(), extra.end());
  args = c.args;
  return ok_status();
}

void register_service_options(CLI::App* run, runtime::ServiceOptions* svc, runtime::RunOptions* opts) {
  run->add_option("--attach", opts->attach,
                  "link: own the XDP hook through a bpf_link (default); libxdp: share it with other XDP programs "
                  "through libxdp's dispatcher")
      ->check(CLI::IsMember({"link", "libxdp"}));
  run->add_option("--xdp-priority", opts->xdp_priority,
                  "with --attach libxdp: run order among the interface's XDP programs, lower first (default 50)")
      ->check(CLI::Range(0, 1000));
  run->add_option("--metrics-addr", svc->metrics_addr,
                  "serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464)")
      ->check(CLI::Validator(
          [](std::string& v) {
            std::string host;
            uint16_t port = 0;
            auto st = runtime::parse_listen_addr(v, &host, &port);
            return st ? std::string() : st.error().message;
          },
          "HOST:PORT"));
  run->add_flag("--watch-model", svc->watch_model,
                "hot-update when the model file changes (after compile and check pass; a bad model is refused)");
  add_config_option(run);
}

void add_config_option(CLI::App* sub) {
  // Consumed by expand_config before parsing; declared for --help.
  static std::string unused;
  sub->add_option("--config", unused,
                  "read options from FILE ('key = value' lines, keys = long options; command-line flags override)");
}

}  // namespace nnbpf::cli
