// The end-of-run summary's decode lines: outer layers by kind and IP fragment
// reassembly, printed only when there is something to say.
#include <gtest/gtest.h>

#include <string>

#include "pipeline/pipeline.hpp"

namespace offpath {
namespace {

TEST(Summary, EncapAndFragmentLinesOnlyWhenNonZero) {
  PipelineCounters p;
  const std::string quiet = format_summary(p, SourceStats{}, SinkStats{});
  EXPECT_EQ(quiet.find("offpath: encap"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("offpath: ip_fragments"), std::string::npos) << quiet;

  p.encap[static_cast<std::size_t>(EncapKind::Vlan)] = 3;
  p.encap[static_cast<std::size_t>(EncapKind::Vxlan)] = 22;
  p.fragments.fragments = 39;
  p.fragments.reassembled = 9;
  p.fragments.overlaps = 1;
  p.fragments.dropped = 2;
  p.fragments_pending = 1;
  p.decode[static_cast<std::size_t>(DecodeOutcome::Fragment)] = 30;
  p.decode[static_cast<std::size_t>(DecodeOutcome::InnerPortFiltered)] = 4;
  const std::string s = format_summary(p, SourceStats{}, SinkStats{});
  EXPECT_NE(s.find("offpath: encap vlan=3 vxlan=22\n"), std::string::npos) << s;
  EXPECT_NE(s.find("offpath: ip_fragments fragments=39 reassembled=9 overlaps=1 timed_out=0 "
                   "evicted=0 dropped=2 pending=1 atomic=0\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("skipped=34 ip_fragment=30 inner_port_filtered=4"), std::string::npos) << s;
}

}  // namespace
}  // namespace offpath
