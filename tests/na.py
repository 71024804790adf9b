# SPDX-License-Identifier: Apache-2.0
# Sends one IPv6 neighbour advertisement (override set) on IFNAME, as a
# pod that lies could: python3 na.py IFNAME SRC_MAC DST_MAC SRC_IP DST_IP
# TARGET LLADDR.  A frame of its own over AF_PACKET, so that nothing of
# the pod's IPv6 stack (which owns none of these addresses) stands in
# the way; t_nat_spoof6 uses it.
import socket
import struct
import sys

ifname, smac, dmac, src, dst, target, lladdr = sys.argv[1:8]


def mac(s):
    return bytes(int(x, 16) for x in s.split(':'))


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


icmp = struct.pack('!BBHI', 136, 0, 0, 0x20000000) + ip6(target) + \
    bytes([2, 1]) + mac(lladdr)
pseudo = ip6(src) + ip6(dst) + struct.pack('!I', len(icmp)) + b'\0\0\0\x3a'
icmp = icmp[:2] + struct.pack('!H', csum(pseudo + icmp)) + icmp[4:]
hdr = struct.pack('!IHBB', 0x60000000, len(icmp), 58, 255) + ip6(src) + \
    ip6(dst)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
s.send(mac(dmac) + mac(smac) + b'\x86\xdd' + hdr + icmp)
