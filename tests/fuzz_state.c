/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the state-file parser.
 *
 *	make fuzz FUZZ_TIME=60
 *
 * state_parse accepts exactly what state_format writes, so whatever
 * version 2 text it accepts must format back to the very same bytes:
 * anything else means the parser let through a non-canonical file (a
 * second spelling of a number, an extra byte, a value it does not
 * round-trip) or the two disagree about a field.  A version 1 text (the
 * previous release's) formats as version 2, which must then parse back
 * to the same sandbox and format to the same bytes again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pelagos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sandbox sb;
	char out[4096];
	int n;

	if (state_parse((const char *)data, size, &sb) < 0)
		return 0;
	n = state_format(&sb, out, sizeof(out));
	if (n < 0) {
		fprintf(stderr, "fuzz_state: parsed state does not format\n");
		abort();
	}
	if (size > 15 && !memcmp(data, "pelagos-state 1", 15)) {
		struct sandbox again;
		char out2[4096];
		int n2;

		if (state_parse(out, (size_t)n, &again) < 0 ||
		    (n2 = state_format(&again, out2, sizeof(out2))) != n ||
		    memcmp(out, out2, (size_t)n)) {
			fprintf(stderr, "fuzz_state: a version 1 state does "
			    "not settle as version 2:\n%.*s\n", n, out);
			abort();
		}
		return 0;
	}
	if ((size_t)n != size || memcmp(out, data, size)) {
		fprintf(stderr, "fuzz_state: not canonical: %zu bytes in, "
		    "%d bytes out:\n%.*s\n---\n%.*s\n", size, n, (int)size,
		    (const char *)data, n, out);
		abort();
	}
	return 0;
}
