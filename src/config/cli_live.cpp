#include <CLI/CLI.hpp>

#include <map>

#include "config/cli_groups.hpp"
#include "config/config.hpp"

namespace offpath {

void add_live_options(CLI::App& app, Config& c) {
  auto& live = c.live;
  const char* group = "Live capture";
  app.add_option("-i,--interface", live.interfaces,
                 "Capture on this interface (repeatable; 'any' with the pcap backend)")
      ->group(group);
  std::map<std::string, CaptureBackend> backends{{"pcap", CaptureBackend::Pcap},
                                                 {"ebpf", CaptureBackend::Ebpf}};
  app.add_option("--capture", live.backend, "Backend: pcap (default) or ebpf (TC + ring buffer)")
      ->transform(CLI::CheckedTransformer(backends, CLI::ignore_case))
      ->group(group);
  app.add_option("-f,--filter", live.filter, "pcap-filter expression, compiled into the kernel")
      ->group(group);
  app.add_option("--port", live.ports, "Server port to capture (repeatable or comma list)")
      ->delimiter(',')
      ->check(CLI::Range(1, 65535))
      ->group(group);
  app.add_option("--snaplen", live.snaplen, "Bytes captured per packet (default 262144)")
      ->check(CLI::Range(128, 262144))
      ->group(group);
  app.add_option("--buffer-mb", live.buffer_mb, "Kernel capture ring size in MB (default 64)")
      ->check(CLI::Range(1, 4096))
      ->group(group);
  app.add_flag("--promisc", live.promiscuous, "Put the interfaces in promiscuous mode")
      ->group(group);
  app.add_option("-w,--write", live.write_file, "Also write captured packets to this pcap file")
      ->group(group);
}

}  // namespace offpath
