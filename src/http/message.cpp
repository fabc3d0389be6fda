#include "http/message.hpp"

#include <strings.h>

namespace offpath {

const std::string* HttpMessage::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return &h.value;
    }
  }
  return nullptr;
}

}  // namespace offpath
