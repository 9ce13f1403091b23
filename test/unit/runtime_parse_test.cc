// Address, CIDR and duration parsing of the runtime's command line.
#include <gtest/gtest.h>

#include <cstring>

#include "nnbpf/abi.h"
#include "runtime/daemon.h"
#include "runtime/pins.h"

namespace nnbpf::runtime {
namespace {

TEST(RuntimeParse, AddressesV4AreMapped) {
  auto a = parse_addr("10.1.2.3");
  ASSERT_TRUE(a.ok());
  const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  EXPECT_EQ(0, std::memcmp(a->data(), want, 16));
  EXPECT_EQ(format_addr(a->data()), "10.1.2.3");
}

TEST(RuntimeParse, AddressesV6) {
  auto a = parse_addr("fd00::1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0], 0xfd);
  EXPECT_EQ((*a)[15], 1);
  EXPECT_EQ(format_addr(a->data()), "fd00::1");
}

TEST(RuntimeParse, BadAddressesAreRefused) {
  for (const char* bad : {"10.1.2.300", "", "host.example", "1.2.3", "::g"}) {
    auto a = parse_addr(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_NE(a.error().message.find("is not an IPv4 or IPv6 address"), std::string::npos);
    EXPECT_EQ(a.error().kind, ErrorKind::BadInput);
  }
}

TEST(RuntimeParse, Cidrs) {
  auto k = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(k.ok());
  nnbpf_lpm_key key;
  std::memcpy(&key, k->data(), sizeof key);
  EXPECT_EQ(key.prefixlen, 96u + 8u);
  EXPECT_EQ(key.addr.a[12], 10);
  auto h = parse_cidr("10.1.2.3");
  std::memcpy(&key, h->data(), sizeof key);
  EXPECT_EQ(key.prefixlen, 128u);
  auto v6 = parse_cidr("fd00::/64");
  std::memcpy(&key, v6->data(), sizeof key);
  EXPECT_EQ(key.prefixlen, 64u);
  EXPECT_FALSE(parse_cidr("10.0.0.0/33").ok());
  EXPECT_FALSE(parse_cidr("fd00::/129").ok());
  EXPECT_FALSE(parse_cidr("10.0.0.0/x").ok());
  EXPECT_FALSE(parse_cidr("nope/8").ok());
}

TEST(RuntimeParse, Durations) {
  EXPECT_EQ(*parse_duration("300s"), 300000000000ull);
  EXPECT_EQ(*parse_duration("5m"), 300000000000ull);
  EXPECT_EQ(*parse_duration("250ms"), 250000000ull);
  EXPECT_EQ(*parse_duration("2"), 2000000000ull);
  EXPECT_EQ(*parse_duration("0"), 0ull);
  EXPECT_FALSE(parse_duration("5parsecs").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
  EXPECT_FALSE(parse_duration("s").ok());
}

}  // namespace
}  // namespace nnbpf::runtime
