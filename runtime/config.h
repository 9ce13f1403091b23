// The service configuration file (/etc/nnbpf/IFACE.conf, nnbpf run --config):
// "key = value" lines, '#' comments, blank lines. Keys are the long option
// names of `nnbpf run` without the dashes ("block-ttl", "allow", ...), plus
// "model" for the model path (the command's positional argument); a
// repeatable option is given on several lines. This file only reads the
// syntax; cli/cmd_config.cc maps keys onto the command's options.
#pragma once

#include <string>
#include <vector>

#include "compiler/support/result.h"

namespace nnbpf::runtime {

struct ConfigEntry {
  std::string key;
  std::string value;
  int line = 0;
};

// Errors: "FILE:LINE: ..." naming the line's problem.
Result<std::vector<ConfigEntry>> read_config_file(const std::string& path);
Result<std::vector<ConfigEntry>> parse_config_text(const std::string& text, const std::string& path);

}  // namespace nnbpf::runtime
