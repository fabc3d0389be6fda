#include "capture/pcap_live_source.hpp"

#include <pcap/pcap.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace offpath {

namespace {

// TPACKET_V3 hands over a block when it is full or this old: the longest a frame waits in
// the kernel on a quiet link. (Immediate mode would fall back to TPACKET_V2.)
constexpr int kBlockTimeoutMs = 50;
constexpr int kPollTimeoutMs = 100;
constexpr int kDispatchBatch = 512;
constexpr auto kIdleInterval = std::chrono::seconds(1);
constexpr auto kStatsInterval = std::chrono::seconds(1);

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

Timestamp wall_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return Timestamp{us.count()};
}

std::string privilege_hint(const std::string& iface) {
  return "capturing on '" + iface +
         "' needs CAP_NET_RAW: run as root, or grant it (setcap cap_net_raw+ep, or "
         "AmbientCapabilities=CAP_NET_RAW in the systemd unit)";
}

// One line for a failed pcap_activate, naming the interface and what to do.
std::string activate_error(pcap_t* p, int rc, const std::string& iface) {
  std::string detail = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return "no such interface '" + iface + "' (-i)" +
             (detail.empty() ? "" : ": " + detail);
    case PCAP_ERROR_PERM_DENIED:
      return privilege_hint(iface) + (detail.empty() ? "" : " (" + detail + ")");
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return "promiscuous mode on '" + iface + "' is not permitted (--promisc): " + detail;
    case PCAP_ERROR_IFACE_NOT_UP:
      return "interface '" + iface + "' is not up";
    case PCAP_ERROR_RFMON_NOTSUP:
      return "interface '" + iface + "' does not support monitor mode";
    default:
      return "cannot capture on '" + iface + "': " +
             (detail.empty() ? pcap_statustostr(rc) : detail);
  }
}

}  // namespace

struct PcapLiveSource::Handle {
  std::string iface;
  PcapPtr pcap;
  LinkType link = LinkType::Ethernet;
  int fd = -1;
};

struct PcapLiveSource::DispatchContext {
  PcapLiveSource* self;
  Handle* handle;
  FrameHandler* handler;
};

Result<std::unique_ptr<PcapLiveSource>> PcapLiveSource::open(
    const LiveCaptureOptions& options) {
  if (options.interfaces.empty()) return make_error("no interface to capture on (-i)");
  if (options.snaplen <= 0) return make_error("--snaplen must be positive");
  if (options.buffer_mb <= 0 || options.buffer_mb > 2047) {
    return make_error("--buffer-mb must be between 1 and 2047");
  }
  auto filter = build_pcap_filter(options);
  if (!filter) return filter.error();

  std::unique_ptr<PcapLiveSource> source(new PcapLiveSource());
  source->filter_ = filter.value();
  for (const auto& iface : options.interfaces) {
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    PcapPtr p(pcap_create(iface.c_str(), errbuf));
    if (!p) return make_error("cannot capture on '" + iface + "': " + errbuf);
    auto fail = [&](const char* what, int rc) {
      return make_error("cannot capture on '" + iface + "': " + what + ": " +
                        pcap_statustostr(rc));
    };
    if (int rc = pcap_set_snaplen(p.get(), options.snaplen); rc != 0) {
      return fail("pcap_set_snaplen", rc);
    }
    if (int rc = pcap_set_promisc(p.get(), options.promiscuous ? 1 : 0); rc != 0) {
      return fail("pcap_set_promisc", rc);
    }
    if (int rc = pcap_set_buffer_size(p.get(), options.buffer_mb * 1024 * 1024); rc != 0) {
      return fail("pcap_set_buffer_size", rc);
    }
    if (int rc = pcap_set_timeout(p.get(), kBlockTimeoutMs); rc != 0) {
      return fail("pcap_set_timeout", rc);
    }
    if (int rc = pcap_set_tstamp_precision(p.get(), PCAP_TSTAMP_PRECISION_MICRO); rc != 0) {
      return fail("pcap_set_tstamp_precision", rc);
    }
    int rc = pcap_activate(p.get());
    if (rc < 0) return make_error(activate_error(p.get(), rc, iface));
    // rc > 0 is a warning (e.g. promiscuous mode not supported): capture goes on.

    if (iface == "any" && pcap_datalink(p.get()) != DLT_LINUX_SLL2) {
      // SLL2 carries the interface index; libpcap opens "any" as SLL by default.
      if (pcap_set_datalink(p.get(), DLT_LINUX_SLL2) != 0) {
        // Older libpcap: keep SLL, which the decoder reads as well.
      }
    }
    if (!source->filter_.empty()) {
      bpf_program program{};
      if (pcap_compile(p.get(), &program, source->filter_.c_str(), 1,
                       PCAP_NETMASK_UNKNOWN) != 0) {
        return make_error("bad capture filter '" + source->filter_ +
                          "': " + pcap_geterr(p.get()));
      }
      int set = pcap_setfilter(p.get(), &program);
      pcap_freecode(&program);
      if (set != 0) {
        return make_error("cannot install capture filter on '" + iface +
                          "': " + pcap_geterr(p.get()));
      }
    }
    if (pcap_setnonblock(p.get(), 1, errbuf) != 0) {
      return make_error("cannot capture on '" + iface + "': " + errbuf);
    }
    int fd = pcap_get_selectable_fd(p.get());
    if (fd < 0) return make_error("cannot capture on '" + iface + "': no selectable fd");

    auto handle = std::make_unique<Handle>();
    handle->iface = iface;
    handle->link = static_cast<LinkType>(pcap_datalink(p.get()));
    handle->fd = fd;
    handle->pcap = std::move(p);
    source->handles_.push_back(std::move(handle));
  }

  if (!options.write_file.empty()) {
    LinkType link = source->handles_.front()->link;
    for (const auto& h : source->handles_) {
      if (h->link != link) {
        return make_error("-w " + options.write_file +
                          ": the interfaces have different link types (" +
                          pcap_datalink_val_to_name(static_cast<int>(link)) + ", " +
                          pcap_datalink_val_to_name(static_cast<int>(h->link)) +
                          "); capture them with -i any instead");
      }
    }
    auto writer = PcapWriter::open(options.write_file, link, options.snaplen);
    if (!writer) return writer.error();
    source->writer_ = std::move(writer.value());
  }
  return source;
}

PcapLiveSource::~PcapLiveSource() = default;

std::string PcapLiveSource::describe() const {
  std::string out = "pcap";
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    out += (i == 0 ? " on " : ", ");
    out += handles_[i]->iface;
  }
  if (!filter_.empty()) out += " filter '" + filter_ + "'";
  return out;
}

LinkType PcapLiveSource::link_type(std::size_t i) const { return handles_.at(i)->link; }

void PcapLiveSource::on_packet(unsigned char* user, const ::pcap_pkthdr* hdr,
                               const unsigned char* data) {
  auto* ctx = reinterpret_cast<DispatchContext*>(user);
  Frame frame;
  frame.ts = Timestamp::from_seconds(hdr->ts.tv_sec, hdr->ts.tv_usec);
  frame.wire_len = hdr->len;
  frame.link = ctx->handle->link;
  frame.bytes = ByteView(data, hdr->caplen);
  ctx->self->frames_.fetch_add(1, std::memory_order_relaxed);
  ctx->self->bytes_.fetch_add(hdr->caplen, std::memory_order_relaxed);
  if (hdr->caplen < hdr->len) ctx->self->truncated_.fetch_add(1, std::memory_order_relaxed);
  if (ctx->self->writer_) ctx->self->writer_->write(frame);
  ctx->handler->on_frame(frame);
}

void PcapLiveSource::sample_stats() {
  std::uint64_t drops = 0, ifdrops = 0;
  for (const auto& h : handles_) {
    struct pcap_stat ps {};
    if (pcap_stats(h->pcap.get(), &ps) == 0) {
      drops += ps.ps_drop;
      ifdrops += ps.ps_ifdrop;
    }
  }
  kernel_drops_.store(drops, std::memory_order_relaxed);
  interface_drops_.store(ifdrops, std::memory_order_relaxed);
}

Result<void> PcapLiveSource::run(FrameHandler& handler, const std::atomic<bool>& stop) {
  std::vector<pollfd> fds;
  std::vector<DispatchContext> contexts;
  fds.reserve(handles_.size());
  contexts.reserve(handles_.size());
  for (auto& h : handles_) {
    fds.push_back(pollfd{h->fd, POLLIN, 0});
    contexts.push_back(DispatchContext{this, h.get(), &handler});
  }
  using Clock = std::chrono::steady_clock;
  auto last_activity = Clock::now();
  auto last_idle = last_activity;
  auto last_stats = last_activity;
  Result<void> result;

  while (!stop.load(std::memory_order_relaxed)) {
    int n = ::poll(fds.data(), fds.size(), kPollTimeoutMs);
    if (n < 0 && errno != EINTR) {
      result = make_error(std::string("poll on capture handles failed: ") +
                          std::strerror(errno));
      break;
    }
    int delivered = 0;
    bool failed = false;
    for (std::size_t i = 0; i < handles_.size(); ++i) {
      // Dispatch every handle on every wake-up: with TPACKET_V3 a retired block may not
      // have raised POLLIN yet, and a non-blocking dispatch of an empty ring is cheap.
      int rc = pcap_dispatch(handles_[i]->pcap.get(), kDispatchBatch, &on_packet,
                             reinterpret_cast<unsigned char*>(&contexts[i]));
      if (rc == PCAP_ERROR) {
        result = make_error("capture on '" + handles_[i]->iface +
                            "' failed: " + pcap_geterr(handles_[i]->pcap.get()));
        failed = true;
        break;
      }
      if (rc > 0) delivered += rc;
      if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        result = make_error("capture on '" + handles_[i]->iface +
                            "' failed: the interface went away");
        failed = true;
        break;
      }
    }
    if (failed) break;
    auto now = Clock::now();
    if (delivered > 0) {
      last_activity = now;
    } else if (now - last_activity >= kIdleInterval && now - last_idle >= kIdleInterval) {
      last_idle = now;
      handler.on_idle(wall_now());
    }
    if (now - last_stats >= kStatsInterval) {
      last_stats = now;
      sample_stats();
      if (writer_) {
        if (auto flushed = writer_->flush(); !flushed) {
          result = flushed;
          break;
        }
      }
    }
  }
  sample_stats();
  if (writer_) {
    if (auto flushed = writer_->flush(); !flushed && result.ok()) result = flushed;
  }
  return result;
}

SourceStats PcapLiveSource::stats() const {
  SourceStats s;
  s.frames = frames_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.kernel_drops = kernel_drops_.load(std::memory_order_relaxed);
  s.interface_drops = interface_drops_.load(std::memory_order_relaxed);
  s.truncated = truncated_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace offpath
