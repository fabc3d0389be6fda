// Decode outcomes print by name in gtest failure messages. Test code only.
#pragma once

#include <ostream>

#include "decode/decoder.hpp"

namespace offpath {

inline void PrintTo(DecodeOutcome o, std::ostream* os) { *os << to_string(o); }

}  // namespace offpath
