# SPDX-License-Identifier: Apache-2.0
# The timing figures' statistics, sourced by bench.sh and soak.sh.

# stats FILE: "median p99" in ms of the nanosecond figures in FILE; p99 is
# the nearest rank, so with fewer than 100 samples it is the maximum.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) { print "- -"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		r = int(NR * 0.99); if (r < NR * 0.99) r++
		printf "%.2f %.2f\n", m / 1e6, v[r] / 1e6
	}'
}
