// The feature CSV reader: header in any order, extra columns, labels, and
// errors that name file, line and column.
#include "compiler/support/csv.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "compiler/ir/catalog.h"

namespace nnbpf {
namespace {

#define EXPECT_HAS(haystack, needle) EXPECT_PRED_FORMAT2(::testing::IsSubstring, needle, haystack)

std::string write_csv(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "nnbpf_csv_test_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(Csv, ColumnsInAnyOrderExtraColumnsAndLabel) {
  const std::string path = write_csv("order.csv",
                                     "proto,fwd_pkt_count,label,dst_port\n"
                                     "tcp,5,1,443\n"
                                     "udp,1,0,53\n");
  Result<FeatureRows> r = read_feature_csv(path, {"dst_port", "fwd_pkt_count"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->features, (std::vector<std::string>{"dst_port", "fwd_pkt_count"}));
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (std::vector<uint64_t>{443, 5}));
  EXPECT_EQ(r->rows[1], (std::vector<uint64_t>{53, 1}));
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{1, 0}));
}

TEST(Csv, NoLabelColumnAndEmptyLabel) {
  Result<FeatureRows> r = read_feature_csv(write_csv("nolabel.csv", "dst_port\n80\n"), {"dst_port"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{std::nullopt}));
  r = read_feature_csv(write_csv("emptylabel.csv", "dst_port,label\n80,\n81,1\n"), {"dst_port"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{std::nullopt, 1}));
}

TEST(Csv, IntegralFloatsCrlfBlankLinesAndLimits) {
  const std::string path = write_csv("crlf.csv",
                                     "dst_port,fwd_bytes_total\r\n"
                                     "12.0,18446744073709551615\r\n"
                                     "\r\n"
                                     " 7 ,1.5e3\r\n");
  Result<FeatureRows> r = read_feature_csv(path, {"dst_port", "fwd_bytes_total"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (std::vector<uint64_t>{12, 18446744073709551615ull}));
  EXPECT_EQ(r->rows[1], (std::vector<uint64_t>{7, 1500}));
}

TEST(Csv, ZeroRowsIsNotAnError) {
  Result<FeatureRows> r = read_feature_csv(write_csv("header_only.csv", "dst_port\n"), {"dst_port"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->rows.empty());
  EXPECT_TRUE(column_ranges(*r).empty());
}

void expect_error(const std::string& name, const std::string& text, const std::string& message) {
  const std::string path = write_csv(name, text);
  Result<FeatureRows> r = read_feature_csv(path, {"dst_port", "fwd_pkt_count"});
  ASSERT_FALSE(r.ok()) << name;
  EXPECT_EQ(r.error().kind, ErrorKind::BadInput);
  EXPECT_EQ(r.error().message, path + message);
}

TEST(Csv, BadValuesNameFileLineAndColumn) {
  expect_error("x.csv", "dst_port,fwd_pkt_count\n1,2\n3,x\n", ":3: column 'fwd_pkt_count': not a non-negative integer: 'x'");
  expect_error("neg.csv", "dst_port,fwd_pkt_count\n-1,2\n", ":2: column 'dst_port': not a non-negative integer: '-1'");
  expect_error("frac.csv", "dst_port,fwd_pkt_count\n1.5,2\n", ":2: column 'dst_port': not a non-negative integer: '1.5'");
  expect_error("empty.csv", "dst_port,fwd_pkt_count\n1,\n", ":2: column 'fwd_pkt_count': empty value");
  expect_error("big.csv", "dst_port,fwd_pkt_count\n18446744073709551616,1\n",
               ":2: column 'dst_port': not a non-negative integer: '18446744073709551616'");
  expect_error("nan.csv", "dst_port,fwd_pkt_count\nnan,1\n", ":2: column 'dst_port': not a non-negative integer: 'nan'");
  expect_error("count.csv", "dst_port,fwd_pkt_count,label\n1,2,0\n1,2\n", ":3: expected 3 columns, found 2");
  expect_error("label.csv", "dst_port,fwd_pkt_count,label\n1,2,BENIGN\n", ":2: column 'label': not an integer: 'BENIGN'");
  expect_error("missing.csv", "dst_port,label\n1,0\n", ": missing column 'fwd_pkt_count' (header: dst_port, label)");
  expect_error("dup.csv", "dst_port,fwd_pkt_count,dst_port\n1,2,3\n", ":1: column 'dst_port' appears twice");
  expect_error("nothing.csv", "", ": empty file (no header row)");
}

TEST(Csv, MissingFile) {
  Result<FeatureRows> r = read_feature_csv("/nonexistent/flows.csv", {"dst_port"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "/nonexistent/flows.csv: cannot open");
}

TEST(Csv, ColumnRanges) {
  Result<FeatureRows> r =
      read_feature_csv(write_csv("ranges.csv", "dst_port,fwd_pkt_count\n80,3\n443,1\n53,9\n"), {"fwd_pkt_count", "dst_port"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto ranges = column_ranges(*r);
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].lo, 1);
  EXPECT_EQ(ranges[0].hi, 9);
  EXPECT_EQ(ranges[1].lo, 53);
  EXPECT_EQ(ranges[1].hi, 443);
}

TEST(Csv, ColumnRangesRoundOutwardAbove2To53) {
  FeatureRows rows;
  rows.features = {"fwd_bytes_total"};
  rows.rows = {{(uint64_t{1} << 53) + 1}, {(uint64_t{1} << 60) + 1}};
  const auto ranges = column_ranges(rows);
  EXPECT_LE(ranges[0].lo, static_cast<double>(uint64_t{1} << 53));
  EXPECT_GE(ranges[0].hi, std::ldexp(1.0, 60) + 256);
}

TEST(Csv, TwentyThousandRowsQuickly) {
  std::string text = "label,dst_port,fwd_pkt_count,fwd_bytes_total\n";
  for (int i = 0; i < 20000; ++i)
    text += std::to_string(i % 2) + "," + std::to_string(i % 65536) + "," + std::to_string(i + 1) + "," +
            std::to_string(i * 1500ull) + "\n";
  const std::string path = write_csv("big_ok.csv", text);
  const auto t0 = std::chrono::steady_clock::now();
  Result<FeatureRows> r = read_feature_csv(path, {"fwd_bytes_total", "dst_port", "fwd_pkt_count"});
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->rows.size(), 20000u);
  EXPECT_EQ(r->rows[19999], (std::vector<uint64_t>{19999ull * 1500, 19999, 20000}));
  EXPECT_LT(ms, 2000.0);
}

}  // namespace
}  // namespace nnbpf

namespace nnbpf {
namespace {

std::string write_bytes(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "nnbpf_csv_test_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The dialect table (compiler/support/flow_csv_dialects.def, also parsed by
// examples/train/nnbpf_data.py): every target is a catalog feature, a column
// name appears once per dialect, every dialect maps the same 24 features.
TEST(CsvDialects, TableIsConsistentWithTheCatalog) {
  std::map<std::string, std::set<std::string>> features, columns;
  for (const auto& m : csv_dialect_columns()) {
    EXPECT_TRUE(find_feature(m.feature).has_value()) << m.dialect << " " << m.column << " -> " << m.feature;
    EXPECT_TRUE(columns[m.dialect].insert(m.column).second) << m.dialect << ": '" << m.column << "' twice";
    EXPECT_TRUE(features[m.dialect].insert(m.feature).second) << m.dialect << ": " << m.feature << " twice";
    EXPECT_TRUE(m.factor == 1 || m.factor == 1000) << m.column;
    EXPECT_EQ(m.factor == 1000, std::string(m.feature).find("_ns") != std::string::npos) << m.column;
  }
  ASSERT_EQ(features.size(), 3u);
  for (const auto& [d, f] : features) EXPECT_EQ(f.size(), feature_catalog().size()) << d;
}

TEST(CsvDialects, Cic2017LeadingSpacesDuplicateColumnMicroseconds) {
  const std::string path = write_bytes("cic2017.csv",
                                       " Destination Port, Fwd IAT Max, Fwd Header Length, Fwd Header Length, Label\n"
                                       "80,1.5,40,1039,DDoS\n"
                                       "443,Infinity,40,1039,BENIGN\n"
                                       "443,12,-25216,0,BENIGN\n"
                                       "22,7,20,1019,Web Attack \x96 Brute Force\n");
  Result<FeatureRows> r = read_feature_csv(path, {"fwd_iat_max_ns", "dst_port", "fwd_header_len"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->report.dialect, "cic2017");
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (std::vector<uint64_t>{1500, 80, 40}));
  EXPECT_EQ(r->rows[1], (std::vector<uint64_t>{7000, 22, 20}));
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{1, 1}));
  EXPECT_EQ(r->line_numbers, (std::vector<size_t>{2, 5}));
  EXPECT_EQ(r->report.summary(),
            "cic2017 dialect: 4 rows read; 2 dropped (NaN/Infinity: Fwd IAT Max 1; negative: Fwd Header Length 1); "
            "0 repaired; duplicate columns ignored (first kept): Fwd Header Length; 1 labels with non-UTF-8 bytes");
}

TEST(CsvDialects, Cic2018AbbreviatedNamesRepeatedHeaderBenignAnyCase) {
  const std::string path = write_bytes("cic2018.csv",
                                       "Dst Port,Protocol,Tot Fwd Pkts,Fwd Pkt Len Mean,Label\r\n"
                                       "21,6,3,10.75,FTP-BruteForce\r\n"
                                       "Dst Port,Protocol,Tot Fwd Pkts,Fwd Pkt Len Mean,Label\r\n"
                                       "53,17,1,60,Benign\r\n"
                                       "53,17,1,x,Benign\r\n");
  Result<FeatureRows> r = read_feature_csv(path, {"dst_port", "fwd_pkt_count", "fwd_pkt_len_mean"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->report.dialect, "cic2018");
  ASSERT_EQ(r->rows.size(), 2u);
  EXPECT_EQ(r->rows[0], (std::vector<uint64_t>{21, 3, 10}));
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{1, 0}));
  EXPECT_EQ(r->report.summary(),
            "cic2018 dialect: 3 rows read; 1 dropped (not a number: Fwd Pkt Len Mean 1); 1 repaired (fractional "
            "values rounded down: Fwd Pkt Len Mean 1); 1 repeated header lines skipped");
}

TEST(CsvDialects, Cic2021AttemptedLabelsAndEmptyLabel) {
  const std::string path = write_bytes("cic2021.csv",
                                       "Dst Port,Total Fwd Packet,Fwd Packet Length Max,Label\n"
                                       "80,4,1200,DoS Hulk - Attempted\n"
                                       "80,4,1200,\n"
                                       "443,4,120,BENIGN\n");
  Result<FeatureRows> r = read_feature_csv(path, {"fwd_pkt_count", "fwd_pkt_len_max"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->report.dialect, "cic2021");
  EXPECT_EQ(r->labels, (std::vector<std::optional<int>>{1, 0}));
  EXPECT_EQ(r->report.summary(),
            "cic2021 dialect: 3 rows read; 1 dropped (empty label: Label 1); 0 repaired; 1 '- Attempted' labels "
            "counted as intrusion");
}

TEST(CsvDialects, ErrorsNameTheDialectAndTheFile) {
  std::string path = write_bytes("cic_missing.csv", "Dst Port,Tot Fwd Pkts,Label\n80,1,Benign\n");
  Result<FeatureRows> r = read_feature_csv(path, {"fwd_iat_max_ns"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ": feature 'fwd_iat_max_ns': no column of this cic2018 (CSE-CIC-IDS2018) file "
                                      "maps to it (header: Dst Port, Tot Fwd Pkts, Label)");
  path = write_bytes("unknown.csv", "a,b\n1,2\n");
  r = read_feature_csv(path, {"dst_port"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            path + ": no column names a catalog feature or a CICFlowMeter column (header: a, b)");
  path = write_bytes("cic_cells.csv", "Dst Port,Tot Fwd Pkts,Label\n80,1,Benign\n80,1\n");
  r = read_feature_csv(path, {"dst_port"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path + ":3: expected 3 columns, found 2");
}

}  // namespace
}  // namespace nnbpf
