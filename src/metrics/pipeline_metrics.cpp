#include "metrics/pipeline_metrics.hpp"

#include <cstdio>

#include "metrics/prometheus_text.hpp"

namespace offpath {

std::string render_metrics(const MetricsInputs& in) {
  MetricsText m;
  const auto& p = in.pipeline;
  const auto& s = in.source;

  // capture
  m.counter("offpath_capture_packets_total", "Frames captured and handed to the decoder.", s.frames);
  m.counter("offpath_capture_bytes_total", "Captured bytes handed to the decoder.", s.bytes);
  m.counter("offpath_capture_kernel_drops_total",
            "Packets dropped before offpath saw them (pcap_stats, BPF ring buffer).", s.kernel_drops);
  m.counter("offpath_capture_interface_drops_total", "Packets dropped by the interface.",
            s.interface_drops);
  m.counter("offpath_capture_truncated_total", "Frames cut below their wire length.", s.truncated);
  m.gauge("offpath_capture_input_bytes_read", "Replays: bytes of the input file read so far.",
          s.input_bytes_read);
  m.gauge("offpath_capture_input_bytes_total", "Replays: size of the input file (0 if unknown).",
          s.input_bytes_total);
  if (!in.backend.empty()) {
    m.family("offpath_capture_ebpf_packets_total", "counter",
             "Decisions of the eBPF capture program, per packet, by reason (seen = the sum "
             "of the others).");
    for (const auto& [reason, value] : in.backend) {
      m.sample("offpath_capture_ebpf_packets_total", value, {{"reason", reason}});
    }
  }
  m.gauge("offpath_capture_running", "1 while the capture source runs.", in.service.capturing ? 1 : 0);

  // decode
  m.counter("offpath_decode_tcp_segments_total", "Frames decoded into a TCP segment.", p.decode[0]);
  m.family("offpath_decode_skipped_total", "counter", "Frames skipped by the decoder, by reason.");
  for (std::size_t i = 1; i < p.decode.size(); ++i) {
    m.sample("offpath_decode_skipped_total", p.decode[i],
             {{"reason", to_string(static_cast<DecodeOutcome>(i))}});
  }
  m.family("offpath_decode_encapsulations_total", "counter",
           "Outer layers (tunnels, tags, label stacks) met around the innermost IP, by kind.");
  for (std::size_t i = 0; i < p.encap.size(); ++i) {
    m.sample("offpath_decode_encapsulations_total", p.encap[i],
             {{"kind", to_string(static_cast<EncapKind>(i))}});
  }
  const auto& fr = p.fragments;
  m.counter("offpath_decode_ip_fragments_total", "IP fragments handed to the defragmenter.",
            fr.fragments);
  m.counter("offpath_decode_ip_reassembled_total", "IP datagrams reassembled from fragments.",
            fr.reassembled);
  m.counter("offpath_decode_ip_fragment_overlaps_total",
            "IP fragments overlapping bytes already held (the first copy wins).", fr.overlaps);
  m.family("offpath_decode_ip_fragments_lost_total", "counter",
           "IP fragments or datagrams not reassembled, by reason (timed_out, evicted: "
           "datagrams; dropped: fragments malformed or cut by the capture).");
  m.sample("offpath_decode_ip_fragments_lost_total", fr.timed_out, {{"reason", "timed_out"}});
  m.sample("offpath_decode_ip_fragments_lost_total", fr.evicted, {{"reason", "evicted"}});
  m.sample("offpath_decode_ip_fragments_lost_total", fr.dropped, {{"reason", "dropped"}});
  m.gauge("offpath_decode_ip_fragments_pending", "IP datagrams waiting for more fragments.",
          p.fragments_pending);
  m.counter("offpath_decode_ipv6_atomic_fragments_total",
            "IPv6 atomic fragments (offset 0, no more fragments) decoded as whole packets.",
            fr.atomic);

  // flow
  const auto& w = p.worker;
  m.gauge("offpath_flow_active", "Flows tracked now.", p.active_flows);
  m.counter("offpath_flow_created_total", "Flows created.", w.flows_created);
  m.counter("offpath_flow_closed_total", "Flows ended by FIN or RST.", w.flows_closed);
  m.counter("offpath_flow_timed_out_total", "Flows ended by --flow-timeout.", w.flows_timed_out);
  m.family("offpath_flow_evicted_total", "counter",
           "Flows evicted before their end, by reason (max_flows: --max-flows; memory: "
           "--max-buffered-bytes; budget: --memory-limit, shedding level 3).");
  m.sample("offpath_flow_evicted_total",
           w.flows_evicted - w.flows_evicted_for_memory - w.flows_evicted_for_budget,
           {{"reason", "max_flows"}});
  m.sample("offpath_flow_evicted_total", w.flows_evicted_for_memory, {{"reason", "memory"}});
  m.sample("offpath_flow_evicted_total", w.flows_evicted_for_budget, {{"reason", "budget"}});
  m.counter("offpath_flow_reused_total", "New handshakes on the 4-tuple of a finished flow.",
            w.flows_reused);
  m.counter("offpath_flow_segments_without_flow_total",
            "Pure ACK/FIN/RST segments of flows not tracked.", w.segments_without_flow);

  // tcp (summed over finished connections)
  const auto& r = w.connections.reassembly;
  m.counter("offpath_tcp_gaps_total", "Stream gaps (lost segments skipped).", r.gaps);
  m.counter("offpath_tcp_gap_bytes_total", "Bytes missing in stream gaps.", r.gap_bytes);
  m.counter("offpath_tcp_ack_gaps_total", "Gaps seen from acknowledgements only.",
            w.connections.ack_gaps);
  m.counter("offpath_tcp_delivered_bytes_total", "Stream bytes delivered to the HTTP parsers.",
            r.delivered_bytes);
  m.counter("offpath_tcp_duplicate_bytes_total", "Retransmitted bytes dropped.", r.duplicate_bytes);
  m.counter("offpath_tcp_overlap_conflicts_total", "Retransmissions that disagreed.",
            r.overlap_conflicts);
  m.counter("offpath_tcp_held_overflows_total", "Out-of-order limits hit (--max-ooo-per-flow).",
            r.held_overflows);
  m.counter("offpath_tcp_rst_ignored_total",
            "RSTs that did not end the connection (out of window, or more data followed).",
            w.connections.rst_ignored);

  // http
  const auto& h = w.connections.parser;
  m.counter("offpath_http_messages_total", "HTTP messages parsed.", h.messages);
  m.counter("offpath_http_parse_errors_total", "llhttp errors.", h.parse_errors);
  m.counter("offpath_http_resyncs_total", "Parser resynchronisations after a gap or error.", h.resyncs);
  m.counter("offpath_http_orphan_responses_total", "Responses without a request.",
            w.connections.orphan_responses);
  m.counter("offpath_http_not_http_connections_total",
            "Connections with no HTTP in either direction (no record).",
            w.connections.not_http_connections);
  m.counter("offpath_http_not_http_bytes_total", "Stream bytes of those connections.",
            w.connections.not_http_bytes);

  // http2
  const auto& h2 = w.connections.http2;
  m.counter("offpath_http2_connections_total", "Connections parsed as HTTP/2 (h2c).", h2.connections);
  m.counter("offpath_http2_upgrades_total",
            "HTTP/1.1 connections switched to HTTP/2 by a 101 to Upgrade: h2c.", h2.upgrades);
  m.counter("offpath_http2_frames_total", "HTTP/2 frames read.", h2.frames);
  m.counter("offpath_http2_streams_total", "HTTP/2 streams emitted as exchanges.", h2.streams);
  m.counter("offpath_http2_resets_total", "RST_STREAM frames.", h2.resets);
  m.counter("offpath_http2_goaways_total", "GOAWAY frames.", h2.goaways);
  m.counter("offpath_http2_hpack_errors_total", "Header blocks HPACK could not decode.",
            h2.hpack_errors);
  m.counter("offpath_http2_streams_dropped_total", "Streams beyond the per-connection table.",
            h2.streams_dropped);
  m.counter("offpath_http2_skipped_bytes_total", "HTTP/2 bytes not parsed (framing lost).",
            h2.skipped_bytes);
  m.counter("offpath_http2_picked_up_total",
            "Connections recognised as HTTP/2 mid-stream from chained frames.", h2.picked_up);
  m.counter("offpath_http2_resyncs_total",
            "HTTP/2 frame boundaries found again after a gap, a broken frame or a pick-up.",
            h2.resyncs);

  // exchange
  const auto& o = p.output;
  m.counter("offpath_exchange_exchanges_total", "Exchanges (request with its response or outcome).",
            o.exchanges);
  m.family("offpath_exchange_outcome_total", "counter", "Exchanges by outcome.");
  for (std::size_t i = 0; i < o.by_outcome.size(); ++i) {
    m.sample("offpath_exchange_outcome_total", o.by_outcome[i],
             {{"reason", to_string(static_cast<Outcome>(i))}});
  }
  m.family("offpath_exchange_error_total", "counter", "Exchanges by error_type (none = success).");
  for (std::size_t i = 0; i < o.by_error.size(); ++i) {
    m.sample("offpath_exchange_error_total", o.by_error[i],
             {{"reason", to_string(static_cast<ErrorType>(i))}});
  }
  m.counter("offpath_exchange_failed_total", "Exchanges classified as failed.", o.failed);
  m.counter("offpath_exchange_published_total", "Exchanges handed to the sink.", o.published);
  m.family("offpath_exchange_not_published_total", "counter",
           "Exchanges not published, by reason.");
  m.sample("offpath_exchange_not_published_total", o.not_published, {{"reason", "successful"}});
  m.sample("offpath_exchange_not_published_total", o.filtered, {{"reason", "filtered"}});
  m.sample("offpath_exchange_not_published_total", o.sampled_out, {{"reason", "sampled_out"}});
  m.family("offpath_exchange_latency_seconds", "histogram",
           "Request start to response end, exchanges with a response.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    cumulative += o.latency_buckets[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", kLatencyBucketsMs[i] / 1000.0);
    m.sample("offpath_exchange_latency_seconds_bucket", cumulative, {{"le", le}});
  }
  cumulative += o.latency_buckets.back();
  m.sample("offpath_exchange_latency_seconds_bucket", cumulative, {{"le", "+Inf"}});
  m.sample("offpath_exchange_latency_seconds_sum", o.latency_sum_ms / 1000.0);
  m.sample("offpath_exchange_latency_seconds_count", cumulative);

  // memory budget (--memory-limit) and shedding
  if (p.memory.limit != 0) {
    m.gauge("offpath_memory_limit_bytes", "The memory budget (--memory-limit).", p.memory.limit);
    const MemoryPools pools = p.memory_pools();
    m.family("offpath_memory_bytes", "gauge", "Bytes accounted against the budget, by pool.");
    for (std::size_t i = 0; i < kMemoryPools; ++i) {
      m.sample("offpath_memory_bytes",
               static_cast<std::uint64_t>(pools.bytes[i] < 0 ? 0 : pools.bytes[i]),
               {{"pool", to_string(static_cast<MemoryPool>(i))}});
    }
    m.gauge("offpath_memory_peak_bytes", "Highest total accounted (leases of the workers).",
            p.memory.peak);
    m.gauge("offpath_shedding_level",
            "Memory shedding level: 0 none, 1 bodies not kept, 2 successes not encoded, 3 "
            "evicting least recently active flows, 4 refusing new flows.",
            static_cast<std::uint64_t>(p.memory.level));
    m.counter("offpath_shedding_level_changes_total", "Changes of the shedding level.",
              p.memory.level_changes);
  }
  m.family("offpath_shed_total", "counter",
           "What memory shedding did not keep, by reason: bodies_not_kept (messages whose "
           "body was not kept), successes_not_encoded, flows_evicted, flows_refused "
           "(segments that would have started a flow).");
  m.sample("offpath_shed_total", w.connections.parser.bodies_not_kept,
           {{"reason", "bodies_not_kept"}});
  m.sample("offpath_shed_total", o.successes_not_encoded, {{"reason", "successes_not_encoded"}});
  m.sample("offpath_shed_total", w.flows_evicted_for_budget, {{"reason", "flows_evicted"}});
  m.sample("offpath_shed_total", w.flows_refused, {{"reason", "flows_refused"}});
  m.counter("offpath_exchange_degraded_total", "Records built while shedding (\"degraded\").",
            o.degraded);
  // the join stage (gateway view): only when gateway addresses are known
  if (p.join) {
    const auto& j = p.join_counters;
    m.family("offpath_join_exchanges_total", "counter",
             "Gateway legs through the join stage, by result (joined: client exchanges with "
             "an upstream attempt; joined_upstream: attempts attached to one; unjoined_client, "
             "unjoined_upstream: legs that joined nothing).");
    m.sample("offpath_join_exchanges_total", j.joined, {{"result", "joined"}});
    m.sample("offpath_join_exchanges_total", j.joined_upstream, {{"result", "joined_upstream"}});
    m.sample("offpath_join_exchanges_total", j.unjoined_client, {{"result", "unjoined_client"}});
    m.sample("offpath_join_exchanges_total", j.unjoined_upstream,
             {{"result", "unjoined_upstream"}});
    m.counter("offpath_join_ambiguous_total",
              "Upstream attempts left unjoined because the evidence fitted several client "
              "exchanges or the attempts overlapped.", j.ambiguous);
    m.counter("offpath_join_retries_total", "Upstream attempts beyond the first of a client "
              "exchange.", j.retries);
    m.counter("offpath_join_rewrites_learned_total", "URI prefix swaps learned from joined pairs.",
              j.rewrites_learned);
    m.counter("offpath_join_overflows_total", "Exchanges decided early because the join window "
              "was full (--join-max-pending, --join-max-mb).", j.overflows);
    m.counter("offpath_join_left_out_total", "Gateway-leg records not published because of "
              "--legs.", j.left_out);
    m.gauge("offpath_join_window_exchanges", "Exchanges waiting in the join window.", j.pending);
    m.gauge("offpath_join_window_bytes", "Estimated memory of the exchanges waiting in the join "
            "window.", j.pending_bytes);
  }

  // workers
  m.gauge("offpath_worker_threads", "Worker threads (1 = inline on the capture thread).", p.workers);
  m.family("offpath_worker_queue_drops_total", "counter",
           "Live capture: segments dropped because a worker's queue was full.");
  for (std::size_t i = 0; i < p.queue_drops.size(); ++i) {
    const std::string worker = std::to_string(i);
    m.sample("offpath_worker_queue_drops_total", p.queue_drops[i], {{"worker", worker}});
  }

  // output
  const auto& k = in.sink;
  m.counter("offpath_output_written_total", "Records written to the sink.", k.written);
  m.counter("offpath_output_delivered_total", "Records delivered (written out, or acknowledged by Kafka).",
            k.delivered);
  m.counter("offpath_output_failed_total", "Records that failed permanently.", k.failed);
  m.counter("offpath_output_spooled_total", "Records appended to the disk spool.", k.spooled);
  m.counter("offpath_output_dropped_total", "Records dropped (no room anywhere).", k.dropped);
  m.gauge("offpath_output_spool_bytes", "Bytes in the disk spool.", k.spool_bytes);
  m.gauge("offpath_output_queue_depth", "Records queued in the sink, not yet delivered.",
          k.queue_depth);
  m.counter("offpath_coverage_records_total", "Coverage ledger records written to the sink.",
            k.coverage_written);
  m.counter("offpath_coverage_delivered_total",
            "Coverage ledger records delivered (written out, or acknowledged by Kafka).",
            k.coverage_delivered);
  m.counter("offpath_coverage_failed_total",
            "Coverage ledger records that could not be written or delivered.",
            k.coverage_failed);

  if (in.kafka) {
    const auto& q = *in.kafka;
    m.counter("offpath_kafka_messages_total", "Kafka messages made from records.", q.messages);
    m.counter("offpath_kafka_delivered_total", "Messages acknowledged by the brokers.", q.delivered);
    m.family("offpath_kafka_failed_total", "counter", "Messages failed permanently, by librdkafka error.");
    m.sample("offpath_kafka_failed_total", q.failed, {{"reason", "all"}});
    for (const auto& [name, n] : q.failed_by_error) {
      m.sample("offpath_kafka_failed_total", n, {{"reason", name}});
    }
    m.counter("offpath_kafka_spooled_total", "Messages appended to the spool.", q.spooled);
    m.counter("offpath_kafka_replayed_total", "Messages read back from the spool and sent.", q.replayed);
    m.family("offpath_kafka_dropped_total", "counter", "Messages dropped, by reason.");
    m.sample("offpath_kafka_dropped_total", q.dropped, {{"reason", "all"}});
    for (const auto& [name, n] : q.dropped_by_reason) {
      m.sample("offpath_kafka_dropped_total", n, {{"reason", name}});
    }
    m.gauge("offpath_kafka_spool_bytes", "Bytes in the spool.", q.spool_bytes);
    m.gauge("offpath_kafka_spool_pending", "Messages in the spool waiting to be sent.", q.spool_pending);
    m.gauge("offpath_kafka_in_flight", "Messages handed to librdkafka without a delivery report.",
            q.in_flight);
    m.gauge("offpath_kafka_brokers_up", "1 when the last probe or delivery succeeded.",
            q.brokers_up ? 1 : 0);
  }

  // service
  m.family("offpath_config_reloads_total", "counter", "SIGHUP reloads, by result.");
  m.sample("offpath_config_reloads_total", in.service.reloads_ok, {{"reason", "applied"}});
  m.sample("offpath_config_reloads_total", in.service.reloads_unchanged, {{"reason", "unchanged"}});
  m.sample("offpath_config_reloads_total", in.service.reloads_invalid, {{"reason", "invalid"}});
  m.family("offpath_process_start_time_seconds", "gauge", "Start time, Unix seconds.");
  m.sample("offpath_process_start_time_seconds", in.service.start_time_s);
  return m.text();
}

std::string format_stats_line(const MetricsInputs& now, const MetricsInputs& prev, double seconds) {
  auto rate = [seconds](std::uint64_t a, std::uint64_t b) {
    return seconds > 0 && a >= b ? static_cast<double>(a - b) / seconds : 0.0;
  };
  const auto& o = now.pipeline.output;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "stats packets=%llu (%.0f/s) bytes=%llu (%.0f/s) kernel_drops=%llu flows_active=%zu "
                "exchanges=%llu (%.1f/s) failed=%llu published=%llu delivered=%llu spooled=%llu "
                "dropped=%llu",
                static_cast<unsigned long long>(now.source.frames),
                rate(now.source.frames, prev.source.frames),
                static_cast<unsigned long long>(now.source.bytes),
                rate(now.source.bytes, prev.source.bytes),
                static_cast<unsigned long long>(now.source.kernel_drops), now.pipeline.active_flows,
                static_cast<unsigned long long>(o.exchanges),
                rate(o.exchanges, prev.pipeline.output.exchanges),
                static_cast<unsigned long long>(o.failed), static_cast<unsigned long long>(o.published),
                static_cast<unsigned long long>(now.sink.delivered),
                static_cast<unsigned long long>(now.sink.spooled),
                static_cast<unsigned long long>(now.sink.dropped));
  return buf;
}

}  // namespace offpath
