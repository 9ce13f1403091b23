#include "runtime/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nnbpf::runtime {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

bool valid_key(const std::string& k) {
  if (k.empty() || !std::isalpha(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace

Result<std::vector<ConfigEntry>> parse_config_text(const std::string& text, const std::string& path) {
  std::vector<ConfigEntry> out;
  std::istringstream in(text);
  std::string raw;
  int n = 0;
  while (std::getline(in, raw)) {
    ++n;
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(n) + ": ";
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return Error::bad_input(where + "expected 'key = value', got '" + line + "'");
    ConfigEntry e;
    e.key = trim(line.substr(0, eq));
    e.value = trim(line.substr(eq + 1));
    e.line = n;
    if (!valid_key(e.key)) return Error::bad_input(where + "'" + e.key + "' is not a key (letters, digits, '-')");
    if (e.value.size() >= 2 && (e.value.front() == '"' || e.value.front() == '\'') && e.value.back() == e.value.front())
      e.value = e.value.substr(1, e.value.size() - 2);
    if (e.value.empty()) return Error::bad_input(where + "key '" + e.key + "' has no value");
    out.push_back(e);
  }
  return out;
}

Result<std::vector<ConfigEntry>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::bad_input(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config_text(ss.str(), path);
}

}  // namespace nnbpf::runtime
