// RecordingMessages: a MessageHandler for unit tests that turns every callback into a
// line of a trace (the shape of nodejs/llhttp's test/request/*.md: input, then the
// expected events) and keeps the messages themselves.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "http/parser.hpp"
#include "support/recording_stream.hpp"

namespace offpath::testing {

inline std::string_view to_string(AbortReason r) {
  switch (r) {
    case AbortReason::ParseError: return "parse_error";
    case AbortReason::Gap: return "gap";
    case AbortReason::EndOfStream: return "end_of_stream";
  }
  return "?";
}

inline std::string_view kind_name(MessageKind k) {
  return k == MessageKind::Request ? "request" : "response";
}

// A one-line summary of a finished message, used in traces:
//   "GET /a 1.1 @0 body=5 'hello'"    or    "200 OK 1.1 @0 body=0 ''"
// (@ is the stream offset of the message's first byte).
inline std::string summary(const HttpMessage& m) {
  std::string s;
  if (m.kind == MessageKind::Request) {
    s = m.method + " " + m.uri;
  } else {
    s = std::to_string(m.status) + " " + m.reason;
  }
  s += " " + std::string(m.version()) + " @" + std::to_string(m.stream_offset) + " body=" +
       std::to_string(m.body_size) + " '" + m.body + "'";
  if (m.body_missing != 0) s += " missing=" + std::to_string(m.body_missing);
  if (m.gap) s += " gap";
  return s;
}

// MessageHandler that records every callback. The body mode returned for a response
// comes from `body_mode` (default Normal).
class RecordingMessages final : public MessageHandler {
 public:
  void on_message_begin(MessageKind kind, HttpMessage& /*msg*/) override {
    events.push_back("begin " + std::string(kind_name(kind)));
  }
  BodyMode on_headers_complete(MessageKind kind, HttpMessage& msg) override {
    std::string line = "headers " + std::string(kind_name(kind)) + " ";
    line += kind == MessageKind::Request ? msg.method + " " + msg.uri : std::to_string(msg.status);
    events.push_back(line);
    return body_mode ? body_mode(msg) : BodyMode::Normal;
  }
  void on_message_complete(MessageKind kind, HttpMessage&& msg) override {
    events.push_back("complete " + std::string(kind_name(kind)) + " " + summary(msg));
    complete.push_back(std::move(msg));
  }
  void on_message_aborted(MessageKind kind, HttpMessage&& msg, AbortReason reason,
                          std::string_view detail) override {
    events.push_back("aborted " + std::string(kind_name(kind)) + " " +
                     std::string(to_string(reason)) + " " + summary(msg));
    details.emplace_back(detail);
    aborted.push_back(std::move(msg));
  }

  std::function<BodyMode(const HttpMessage&)> body_mode;
  std::vector<std::string> events;
  std::vector<HttpMessage> complete;
  std::vector<HttpMessage> aborted;
  std::vector<std::string> details;
};

}  // namespace offpath::testing
