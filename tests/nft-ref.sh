#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates tests/nft-ref.h: the bytes `nft -f` sends for pelagos's two
# tables and for one sandbox's elements, which tests/unit.c compares
# nft.c's requests with.  Needs nft, strace and unshare, as root; runs
# in a network namespace of its own, so the host's ruleset is untouched.
#
#   sh tests/nft-ref.sh >tests/nft-ref.h
set -eu
command -v nft >/dev/null && command -v strace >/dev/null ||
	{ echo "nft-ref.sh: needs nft and strace" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/inet" <<'EOF'
table inet pelagos {
	set pods { type ipv4_addr . ifname; }
	set nat { type ipv4_addr; }
	map ports { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
	map anyports { type inet_proto . inet_service : ipv4_addr . inet_service; }
	chain prerouting { type nat hook prerouting priority dstnat; }
	chain output { type nat hook output priority -100; }
	chain publish { }
	chain postrouting { type nat hook postrouting priority srcnat; }
}
flush chain inet pelagos prerouting
flush chain inet pelagos output
flush chain inet pelagos publish
flush chain inet pelagos postrouting
add rule inet pelagos prerouting meta nfproto ipv4 fib daddr type local jump publish
add rule inet pelagos output meta nfproto ipv4 fib daddr type local jump publish
add rule inet pelagos publish ip daddr 127.0.0.0/8 return
add rule inet pelagos publish dnat ip to ip daddr . meta l4proto . th dport map @ports
add rule inet pelagos publish dnat ip to meta l4proto . th dport map @anyports
add rule inet pelagos postrouting ct status dnat ip saddr . oifname @pods masquerade
add rule inet pelagos postrouting ip saddr . oifname @pods return
add rule inet pelagos postrouting ip saddr @nat masquerade
EOF
cat >"$dir/bridge" <<'EOF'
table bridge pelagos {
	set guard { type ifname; }
	set macs { type ifname . ether_addr; }
	set ips { type ifname . ipv4_addr; }
	set allow { type ifname . ipv4_addr; flags interval; }
	map drops { type ifname : counter; }
	set allowports { type ifname . ipv4_addr . inet_proto . inet_service; flags interval; }
	set replies { type ifname . inet_proto . inet_service; }
	set src6 { type ifname . ipv6_addr; }
	chain prerouting { type filter hook prerouting priority filter; }
	chain pod { }
	chain egress { }
}
flush chain bridge pelagos prerouting
flush chain bridge pelagos pod
flush chain bridge pelagos egress
add rule bridge pelagos prerouting iifname @guard jump pod
add rule bridge pelagos pod ether type != ip ether type != arp ether type != ip6 drop
add rule bridge pelagos pod iifname . ether saddr != @macs drop
add rule bridge pelagos pod iifname . arp saddr ether != @macs drop
add rule bridge pelagos pod iifname . arp saddr ip != @ips drop
add rule bridge pelagos pod iifname . ip saddr != @ips drop
add rule bridge pelagos pod iifname . ip6 saddr != @src6 drop
# (then nft.c checks a neighbour advertisement's target, iifname .
# @th,64,128 != @src6, which nft 1.0 cannot say: it has no icmpv6 taddr
# and types the raw payload an integer, which a set of IPv6 addresses
# does not take; tests/unit.c leaves that rule out of the comparison)
add rule bridge pelagos pod meta l4proto ipv6-icmp icmpv6 type mld2-listener-report drop
add rule bridge pelagos pod iifname @drops jump egress
add rule bridge pelagos egress ether type arp return
add rule bridge pelagos egress iifname . ip daddr @allow return
add rule bridge pelagos egress iifname . ip daddr . meta l4proto . th dport @allowports return
add rule bridge pelagos egress meta protocol ip meta l4proto udp iifname . meta l4proto . th sport @replies return
add rule bridge pelagos egress meta protocol ip meta l4proto tcp tcp flags & (syn | ack) != syn iifname . meta l4proto . th sport @replies return
add rule bridge pelagos egress counter name iifname map @drops drop
EOF
# The sandbox of tests/unit.c: 172.19.0.2 and fd00::2 on pelagos0
# through vh-01234567, MAC 02:00:00:00:00:01, --nat,
# -p 10.0.0.1:40000:80 -p 40001:81/udp -p 40002-40003:82-83/udp,
# --egress 10.0.0.0/8 --egress 1.1.1.1 --egress 9.9.9.9:53
# --egress 8.8.0.0/16:8000-8100/tcp.
c='comment "0123456789abcdef"'
v='"vh-01234567"'
cat >"$dir/add" <<EOF
add element inet pelagos pods { 172.19.0.2 . "pelagos0" $c }
add element inet pelagos nat { 172.19.0.2 $c }
create element inet pelagos ports { 10.0.0.1 . tcp . 40000 $c : 172.19.0.2 . 80 }
create element inet pelagos anyports { udp . 40001 $c : 172.19.0.2 . 81 }
create element inet pelagos anyports { udp . 40002 $c : 172.19.0.2 . 82, udp . 40003 $c : 172.19.0.2 . 83 }
add element bridge pelagos guard { $v $c }
add element bridge pelagos macs { $v . 02:00:00:00:00:01 $c }
add element bridge pelagos ips { $v . 172.19.0.2 $c }
add counter bridge pelagos vh-01234567
add element bridge pelagos drops { $v $c : $v }
add element bridge pelagos src6 { $v . fd00::2 $c, $v . fe80::ff:fe00:1 $c, $v . :: $c }
add element bridge pelagos allow { $v . 10.0.0.0/8 $c, $v . 1.1.1.1 $c }
add element bridge pelagos allowports { $v . 9.9.9.9 . tcp . 53 $c, $v . 9.9.9.9 . udp . 53 $c, $v . 8.8.0.0/16 . tcp . 8000-8100 $c }
add element bridge pelagos replies { $v . tcp . 80 $c, $v . udp . 81 $c, $v . udp . 82 $c, $v . udp . 83 $c }
EOF
cat >"$dir/del" <<EOF
delete element inet pelagos pods { 172.19.0.2 . "pelagos0" }
delete element inet pelagos nat { 172.19.0.2 }
delete element inet pelagos ports { 10.0.0.1 . tcp . 40000 }
delete element inet pelagos anyports { udp . 40001 }
delete element inet pelagos anyports { udp . 40002, udp . 40003 }
delete element bridge pelagos guard { $v }
delete element bridge pelagos macs { $v . 02:00:00:00:00:01 }
delete element bridge pelagos ips { $v . 172.19.0.2 }
delete element bridge pelagos drops { $v }
delete counter bridge pelagos vh-01234567
delete element bridge pelagos src6 { $v . fd00::2, $v . fe80::ff:fe00:1, $v . :: }
delete element bridge pelagos allow { $v . 10.0.0.0/8, $v . 1.1.1.1 }
delete element bridge pelagos allowports { $v . 9.9.9.9 . tcp . 53, $v . 9.9.9.9 . udp . 53, $v . 8.8.0.0/16 . tcp . 8000-8100 }
delete element bridge pelagos replies { $v . tcp . 80, $v . udp . 81, $v . udp . 82, $v . udp . 83 }
EOF
cat >"$dir/get" <<'EOF'
get element inet pelagos pods { 172.19.0.2 . "pelagos0" }
EOF

# The one batch each `nft -f` sends (for get its one request), as a hex
# string: strace's dump of the last sendmsg() or sendto().
cd "$dir"
unshare -n sh -c '
	for f in inet bridge add get del; do
		strace -f -qq -o "$f.log" -e trace=sendmsg,sendto -e write=3 \
		    nft -f "$f" >/dev/null || exit 1
	done'
echo "/* Generated by tests/nft-ref.sh from nft $(nft --version |
    cut -d' ' -f2): do not edit. */"
for f in inet bridge add del get; do
	printf 'static const char nft_ref_%s[] =\n' "$f"
	awk '/send(msg|to)\(/ { hex = "" }
	    /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / {
		line = substr($0, 11, 49); gsub(/ /, "", line); hex = hex line }
	    END { for (i = 1; i <= length(hex); i += 72)
		printf "\t\"%s\"\n", substr(hex, i, 72) }' "$f.log"
	printf '\t;\n'
done
