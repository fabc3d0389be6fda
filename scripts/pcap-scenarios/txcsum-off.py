#!/usr/bin/python3
"""Turns off transmit checksum offload on a network interface (what
`ethtool -K IFNAME tx off` does), through the SIOCETHTOOL ioctl.

Usage: txcsum-off.py IFNAME     (root, in the interface's network namespace)

On a veth with offload on, the stack leaves TCP checksums for the "hardware" to fill
in, and tcpdump records packets whose checksum field is not yet computed. With it
off, the kernel computes every checksum and the capture holds valid ones.
"""

import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17


class EthtoolValue(ctypes.Structure):
    _fields_ = [("cmd", ctypes.c_uint32), ("data", ctypes.c_uint32)]


def ethtool(ifname, cmd, data=0):
    value = EthtoolValue(cmd, data)
    ifreq = struct.pack("16sP", ifname.encode(), ctypes.addressof(value))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
    return value.data


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ifname = sys.argv[1]
    ethtool(ifname, ETHTOOL_STXCSUM, 0)
    if ethtool(ifname, ETHTOOL_GTXCSUM) != 0:
        print("txcsum-off: %s still has tx checksum offload on" % ifname, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
