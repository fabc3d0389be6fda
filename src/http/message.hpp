// HttpMessage: what the parser saw of one HTTP/1.x request or response: start line,
// headers (bounded), body size and the captured head of the body, and packet times.
// Built by HttpParser on the worker thread, then moved into an Exchange.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/time.hpp"

namespace offpath {

enum class MessageKind : std::uint8_t { Request, Response };

struct HttpHeader {
  std::string name;   // as sent
  std::string value;  // as sent, surrounding whitespace trimmed by the parser
};

struct HttpMessage {
  MessageKind kind = MessageKind::Request;
  // Request line
  std::string method;
  std::string uri;
  bool uri_truncated = false;
  // Status line
  int status = 0;
  std::string reason;
  // Both
  int version_major = 1;
  int version_minor = 1;
  std::vector<HttpHeader> headers;
  std::uint64_t header_bytes = 0;   // bytes of header names and values seen
  bool headers_truncated = false;   // some headers were not kept (limit)
  bool chunked = false;
  bool keep_alive = true;
  bool upgrade = false;
  bool ambiguous_length = false;   // both Transfer-Encoding and Content-Length (read by TE)

  std::uint64_t body_size = 0;      // entity bytes (chunked framing removed), gaps included
  std::uint64_t body_missing = 0;   // body bytes lost in gaps
  std::string body;                 // first bytes of the body, up to the capture limit
  bool body_truncated = false;      // body_size > body.size()

  Timestamp first_byte;             // packet time of the first byte of the message
  Timestamp headers_end;            // packet time when the header block completed
  bool headers_complete = false;    // the header block was seen to its end
  Timestamp last_byte;              // packet time of the last byte
  std::uint64_t stream_offset = 0;  // offset of the first byte in its TCP stream
  bool complete = false;            // the parser saw the end of the message
  bool gap = false;                 // a gap in the stream touched this message

  // First header with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // "1.1": the version as the start line gave it.
  std::string_view version() const;
  // Heap bytes the message holds beyond its own object (memory budget): its strings'
  // capacities and the header list. Header strings are estimated from header_bytes
  // (what the parser kept counts there) without walking the list.
  std::int64_t heap_bytes() const;
};

}  // namespace offpath
