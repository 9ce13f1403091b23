// nnbpf capture's labels file (runtime/capture.cc): longest source prefix
// wins, IPv4 and IPv6, defaults, and one-line errors naming file:line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "compiler/ir/catalog.h"
#include "runtime/capture.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {
namespace {

class LabelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nnbpf-labels-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  Result<Labeler> load(const std::string& text) {
    std::ofstream(path_) << text;
    return Labeler::load(path_);
  }
  static const LabelRule& match(const Labeler& l, const std::string& addr) {
    auto a = parse_addr(addr);
    EXPECT_TRUE(a) << addr;
    return l.match(a->data());
  }
  std::string path_;
};

TEST_F(LabelsTest, LongestPrefixWins) {
  auto l = load("# comment\n\n10.9.0.0/16 0 lan\n10.9.0.5/32 1 ssh-bruteforce  # inline\n10.9.1.0/24 1\n"
                "fd00:9::/32 0 v6lan\nfd00:9::7 1 v6-scan\n");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->size(), 5u);
  EXPECT_EQ(match(*l, "10.9.0.5").cls, "ssh-bruteforce");
  EXPECT_EQ(match(*l, "10.9.0.5").label, 1);
  EXPECT_EQ(match(*l, "10.9.0.6").cls, "lan");
  EXPECT_EQ(match(*l, "10.9.0.6").label, 0);
  EXPECT_EQ(match(*l, "10.9.1.200").cls, "intrusion");  // default class of label 1
  EXPECT_EQ(match(*l, "10.9.1.200").label, 1);
  EXPECT_EQ(match(*l, "10.10.0.1").cls, "benign");     // unlisted
  EXPECT_EQ(match(*l, "10.10.0.1").label, 0);
  EXPECT_EQ(match(*l, "fd00:9::7").cls, "v6-scan");
  EXPECT_EQ(match(*l, "fd00:9::8").cls, "v6lan");
  EXPECT_EQ(match(*l, "fd00:a::7").cls, "benign");
  // An IPv4 prefix never matches an IPv6 address outside ::ffff:0:0/96.
  EXPECT_EQ(match(*l, "::a09:5").cls, "benign");
}

TEST_F(LabelsTest, HostBitsBeyondThePrefixAreIgnored) {
  auto l = load("10.9.0.77/16 1 scan\n");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(match(*l, "10.9.200.1").cls, "scan");
}

TEST_F(LabelsTest, BadLinesNameFileAndLine) {
  struct Case {
    std::string text, want;
  } cases[] = {
      {"10.0.0.0/8 0\n10.1.2.300/32 1 x\n", ":2: '10.1.2.300/32' is not a CIDR"},
      {"10.0.0.0/33 1\n", ":1: '10.0.0.0/33': prefix length above 32"},
      {"10.0.0.0/8 2\n", ":1: label '2' is not 0 (benign) or 1 (intrusion)"},
      {"10.0.0.0/8\n", ":1: expected 'CIDR LABEL [CLASS]', got 1 fields"},
      {"10.0.0.0/8 1 a b\n", ":1: expected 'CIDR LABEL [CLASS]', got 4 fields"},
      {"10.0.0.0/8 1 a,b\n", ":1: class 'a,b' may use only"},
      {"10.0.0.0/8 1\n# x\n10.0.0.0/8 0\n", ":3: prefix 10.0.0.0/8 is already labelled on line 1"},
  };
  for (const auto& c : cases) {
    auto l = load(c.text);
    ASSERT_FALSE(l) << c.text;
    EXPECT_EQ(l.error().kind, ErrorKind::BadInput);
    EXPECT_NE(l.error().message.find(path_ + c.want), std::string::npos) << l.error().message;
    EXPECT_EQ(l.error().message.find('\n'), std::string::npos);
  }
  auto missing = Labeler::load("/nonexistent/labels.txt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/labels.txt: cannot open"), std::string::npos);
}

TEST(CaptureCsv, HeaderIsTheCatalogThenTheFlowColumns) {
  std::string want;
  for (const auto& f : feature_catalog()) want += std::string(f.name) + ",";
  want += "label,class,src,dst,sport,dport,proto,end,ts_ns";
  EXPECT_EQ(capture_csv_header(), want);
  EXPECT_EQ(capture_csv_header().rfind("dst_port,fwd_pkt_count,", 0), 0u);
}

}  // namespace
}  // namespace nnbpf::runtime
