// The service configuration syntax (runtime/config.h), the metrics table and
// label escaping rules (runtime/metrics.h) and the listen-address parser
// (runtime/http_server.h). No privileges.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "runtime/config.h"
#include "runtime/http_server.h"
#include "runtime/metrics.h"

namespace nnbpf::runtime {
namespace {

TEST(Config, KeysValuesCommentsAndLines) {
  auto r = parse_config_text("# c\n\nmodel = /m.onnx\n  allow=10.0.0.0/8  \nallow = \"fd00::/8\"\nmonitor = true\n", "f.conf");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].key, "model");
  EXPECT_EQ((*r)[0].value, "/m.onnx");
  EXPECT_EQ((*r)[0].line, 3);
  EXPECT_EQ((*r)[1].key, "allow");
  EXPECT_EQ((*r)[1].value, "10.0.0.0/8");
  EXPECT_EQ((*r)[1].line, 4);
  EXPECT_EQ((*r)[2].value, "fd00::/8");
  EXPECT_EQ((*r)[3].line, 6);
}

TEST(Config, ErrorsNameFileAndLine) {
  auto a = parse_config_text("model = x\nblock-ttl 5s\n", "/etc/nnbpf/eth0.conf");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "/etc/nnbpf/eth0.conf:2: expected 'key = value', got 'block-ttl 5s'");
  auto b = parse_config_text("\n\nidle-timeout =\n", "c");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "c:3: key 'idle-timeout' has no value");
  auto c = parse_config_text("bad key = 1\n", "c");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("c:1: 'bad key' is not a key"), std::string::npos);
  auto d = read_config_file("/nonexistent/nnbpf.conf");
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("/nonexistent/nnbpf.conf: cannot read"), std::string::npos);
}

TEST(Metrics, CounterTableFollowsPrometheusConventions) {
  const std::regex name("^nnbpf_[a-z_]+_total$");
  std::set<std::string> names;
  std::set<uint32_t> stats;
  for (const auto& c : kernel_counters()) {
    EXPECT_TRUE(std::regex_match(c.name, name)) << c.name;
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
    EXPECT_TRUE(stats.insert(c.stat).second) << "stat " << c.stat << " exported twice";
    EXPECT_LT(c.stat, static_cast<uint32_t>(NNBPF_STAT_MAX));
    EXPECT_FALSE(std::string(c.help).empty());
    // Time counters are exported in seconds.
    if (std::string(c.name).find("seconds") != std::string::npos) EXPECT_DOUBLE_EQ(c.scale, 1e-9);
  }
  for (const char* must : {"nnbpf_packets_seen_total", "nnbpf_packets_passed_total", "nnbpf_packets_dropped_total",
                           "nnbpf_flows_new_total", "nnbpf_flows_ended_total", "nnbpf_blocks_total",
                           "nnbpf_blocks_expired_total", "nnbpf_events_lost_total"})
    EXPECT_TRUE(names.count(must)) << must;
}

TEST(Metrics, LatencyBucketsIncrease) {
  const auto& b = Metrics::latency_buckets();
  ASSERT_FALSE(b.empty());
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(Metrics, NoPipelineIsAnError) {
  Metrics m("nnbpf-no-such-if");
  auto r = m.render();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nnbpf-no-such-if"), std::string::npos);
}

TEST(HttpServer, ListenAddresses) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(parse_listen_addr("127.0.0.1:9464", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  ASSERT_TRUE(parse_listen_addr("[::1]:80", &host, &port));
  EXPECT_EQ(host, "::1");
  ASSERT_TRUE(parse_listen_addr(":9464", &host, &port));
  EXPECT_EQ(host, "");
  EXPECT_FALSE(parse_listen_addr("localhost", &host, &port));
  EXPECT_FALSE(parse_listen_addr("127.0.0.1:0", &host, &port));
  EXPECT_FALSE(parse_listen_addr("127.0.0.1:http", &host, &port));
}

}  // namespace
}  // namespace nnbpf::runtime
