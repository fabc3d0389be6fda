// The whole run-time configuration of offpath, as plain values. Built once at start-up
// from flags, environment and config file (cli.cpp), then read-only: workers and sinks
// get const references or copies. Every field has the default users get.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace offpath {

class ConfigUpdates;  // config_updates.hpp
class MemoryBudget;   // common/memory_budget.hpp

enum class PublishMode { Failed, All };
enum class OutputFormat { Native, OpenResty, Kong };
enum class HeaderCapture { All, None, List };
enum class CaptureBackend { Pcap, Ebpf };
enum class KafkaKeyMode { Connection, CorrelationId, None };
// --legs: which records of gateway legs are published (src/join/join_window.hpp).
enum class LegsMode { Joined, Client, Upstream, All };

// Live capture (-i); see capture/live_source.hpp.
struct LiveCaptureOptions {
  std::vector<std::string> interfaces;   // -i, repeatable; "any" allowed with pcap
  CaptureBackend backend = CaptureBackend::Pcap;
  std::string filter;                    // -f: pcap-filter expression (pcap backend)
  std::vector<std::uint16_t> ports;      // --port: server ports (both backends)
  std::vector<std::string> client_cidrs; // --client CIDR, also applied in the kernel (eBPF)
  std::vector<std::string> server_cidrs; // --server CIDR, also applied in the kernel (eBPF)
  int snaplen = 262144;                  // --snaplen
  int buffer_mb = 64;                    // --buffer-mb: kernel ring size (TPACKET_V3)
  bool promiscuous = false;              // --promisc
  std::string write_file;                // -w: also write captured packets to this pcap

  bool operator==(const LiveCaptureOptions&) const = default;
};

// Kafka sink (-b); see output/kafka_sink.hpp.
struct KafkaOptions {
  std::string brokers;                   // -b/--brokers; empty = no Kafka
  std::string topic;                     // -t/--topic; default depends on --publish
  std::string failed_topic;              // --failed-topic: failed exchanges also go here
  std::vector<std::pair<std::string, std::string>> properties;  // -X key=value
  KafkaKeyMode key = KafkaKeyMode::Connection;                  // --key
  std::string spool_dir;                 // --spool-dir; empty = no spool
  std::uint64_t spool_max_mb = 1024;     // --spool-max-mb
  bool exit_on_broker_error = false;     // --exit-on-broker-error
  int flush_timeout_ms = 10000;          // --flush-timeout-ms: on shutdown
  std::string coverage_topic;            // --coverage-topic; empty = the main topic

  bool operator==(const KafkaOptions&) const = default;
};

// TCP reassembly and flow-table limits.
struct ReassemblyOptions {
  std::uint64_t max_ooo_bytes_per_flow = 1 << 20;   // --max-ooo-per-flow
  std::uint64_t max_buffered_bytes = 256ull << 20;  // --max-buffered-bytes (all flows)
  std::uint64_t max_flows = 262144;                 // --max-flows
  std::uint32_t flow_idle_timeout_s = 300;          // --flow-timeout
  std::uint32_t response_timeout_s = 60;            // --response-timeout

  bool operator==(const ReassemblyOptions&) const = default;
};

// What goes into each exchange record.
struct RecordOptions {
  OutputFormat format = OutputFormat::Native;       // --format
  std::uint32_t max_body = 1024;                    // --max-body (0 = no body)
  bool request_body = true;                         // --no-request-body
  bool response_body = true;                        // --no-response-body
  bool decode_content = true;                       // --no-decode
  HeaderCapture headers = HeaderCapture::All;       // --headers all|none|LIST
  std::vector<std::string> header_names;            // --headers LIST (any case)
  std::uint32_t max_header_bytes = 16384;           // per message; beyond: truncated
  std::uint32_t max_uri_bytes = 8192;
  std::vector<std::string> redact_headers = {"authorization", "proxy-authorization",
                                             "cookie", "set-cookie"};  // --redact (adds)
  std::string node_name;                            // capture.node (OFFPATH_NODE_NAME)
  std::string pod_name;                             // capture.pod (OFFPATH_POD_NAME)

  bool operator==(const RecordOptions&) const = default;
};

// Exchange filters and failure classification (cli_filters.cpp), as given on the command
// line; filter/filter_set.hpp parses them at start-up. Repeated flags and comma lists add
// alternatives (OR); different flags must all match (AND).
struct FilterOptions {
  std::vector<std::string> methods;          // --method GET,POST
  std::vector<std::string> hosts;            // --host api.example.com, *.example.com
  std::vector<std::string> paths;            // --path /api/ (prefix) or '/api/*/items' (glob)
  std::vector<std::string> path_regexes;     // --path-regex (ECMAScript, searched)
  std::vector<std::string> statuses;         // --status 404,500-599,5xx
  std::vector<std::string> client_cidrs;     // --client (also in LiveCaptureOptions)
  std::vector<std::string> server_cidrs;     // --server (also in LiveCaptureOptions)
  std::vector<std::string> headers;          // --header NAME or NAME=VALUE
  std::optional<double> min_latency_ms;      // --min-latency MS
  std::optional<double> sample;              // --sample RATE (0..1), successes only
  std::vector<std::string> failed_status;    // --failed-status; empty = 400-599
  std::optional<double> slow_ms;             // --slow MS
  std::vector<std::string> failed_outcomes;  // --failed-outcomes; empty = all
  std::vector<std::string> grpc_failed_codes;  // --grpc-failed-codes; empty = all but OK
  bool connect_failures = false;             // --connect-failures

  bool operator==(const FilterOptions&) const = default;
};

// Running as a service (cli.cpp, config_file.cpp, pipeline/app.cpp).
struct ServiceOptions {
  std::string config_file;            // --config FILE actually read; empty = none
  bool check_config = false;          // --check-config: validate and exit
  std::string metrics;                // --metrics [ADDR:]PORT; empty = off
  std::uint32_t stats_interval_s = 0; // --stats-interval: one stats line every N s (0 = off)
  std::string user;                   // --user: empty = offpath if it exists, else nobody
  std::string progress = "auto";      // --progress auto|on|off (replays on a terminal)
  // --ledger-interval: one coverage record (pipeline/coverage_ledger.hpp) every N seconds
  // of packet time, and one at the end; 0 = only the one at the end; kLedgerOff = no
  // ledger; kLedgerAuto (the default) = every 60 s live, only the one at the end of a replay.
  static constexpr double kLedgerOff = -1;
  static constexpr double kLedgerAuto = -2;
  double ledger_interval_s = kLedgerAuto;

  bool operator==(const ServiceOptions&) const = default;
};

// The gateway view (src/join/, cli_gateway.cpp): which addresses are gateways and how the
// exchanges of their two legs are joined.
struct GatewayOptions {
  // --gateway ADDR|local|auto|none (repeatable); without it a live capture uses auto and a
  // replay detects them in the file.
  std::vector<std::string> addresses;
  std::string join_header;             // --join-header NAME: a request id header
  std::vector<std::string> rewrites;   // --join-rewrite FROM=TO: a gateway's prefix swap
  LegsMode legs = LegsMode::Joined;    // --legs joined|client|upstream|all
  double window_s = 10;                // --join-window: how long an upstream attempt waits
  double settle_s = 3;                 // --join-settle: how long a client exchange waits
  std::uint64_t max_pending = 65536;   // --join-max-pending: exchanges waiting at once
  std::uint64_t max_mb = 64;           // --join-max-mb: their estimated memory
  // Not a flag: set at start when refused connects are followed only as upstream attempts
  // (no --connect-failures); those outside a gateway leg are then not published.
  bool connect_failures_for_join_only = false;

  bool operator==(const GatewayOptions&) const = default;
};

struct Config {
  // Input: exactly one of read_file or live.interfaces.
  std::string read_file;                  // -r FILE ("-" = stdin)
  LiveCaptureOptions live;

  // Output
  std::string output_file;                // -o FILE; empty = stdout
  PublishMode publish = PublishMode::Failed;
  KafkaOptions kafka;
  RecordOptions record;
  ReassemblyOptions reassembly;
  FilterOptions filter;
  GatewayOptions gateway;

  unsigned workers = 1;                   // --workers
  std::uint64_t memory_limit = 512ull << 20;  // --memory-limit: one budget for all state
  bool summary = true;                    // end-of-run summary on stderr
  std::string log_level = "info";         // --log-level
  ServiceOptions service;
  // Where reloaded configurations are published (SIGHUP); set by run_offpath, which owns
  // it; null in tests and when nothing can reload.
  const ConfigUpdates* updates = nullptr;
  // The budget built from memory_limit, shared by the workers; set by run_offpath, which
  // owns it; null in tests that do not give one (accounting without shedding).
  MemoryBudget* memory = nullptr;

  bool operator==(const Config&) const = default;
};

}  // namespace offpath
