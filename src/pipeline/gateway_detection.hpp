// Gateway detection for a replay without --gateway: reads the start of the capture once
// before the replay (up to kDetectFrames frames, so that a replay of a capture without
// gateways pays little) and finds the addresses that are the
// server of some connections and the client of others (join/gateway_set.hpp), from the
// SYNs that open connections. Start-up thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "decode/ip_address.hpp"

namespace offpath {

inline constexpr std::uint64_t kDetectFrames = 100'000;

// Empty when the file cannot be read (the replay itself then reports why).
std::vector<IpAddress> detect_gateways(const std::string& path, const std::string& filter,
                                       std::uint64_t max_frames = kDetectFrames);

}  // namespace offpath
