/* libFuzzer target for the state-file parser.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *	    -o tests/fuzz_state tests/fuzz_state.c state.c util.c root.c
 *	tests/fuzz_state -max_total_time=60 tests/fuzz-corpus
 *
 * state_parse accepts exactly what state_format writes, so whatever it
 * accepts must format back to the very same bytes: anything else means
 * the parser let through a non-canonical file (a second spelling of a
 * number, an extra byte, a value it does not round-trip) or the two
 * disagree about a field. */
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
	if ((size_t)n != size || memcmp(out, data, size)) {
		fprintf(stderr, "fuzz_state: not canonical: %zu bytes in, "
		    "%d bytes out:\n%.*s\n---\n%.*s\n", size, n, (int)size,
		    (const char *)data, n, out);
		abort();
	}
	return 0;
}
