/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every fuzz target shares: its entry point and a check that aborts
 * (libFuzzer and the replay driver both report an abort as a finding). */
#ifndef NH_FUZZ_H
#define NH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* A NUL-terminated copy of at most cap - 1 bytes of the input. */
static inline void fuzz_text_copy(char *buf, size_t cap, const uint8_t *d,
				  size_t n)
{
	size_t i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		buf[i] = (char)d[i];
	buf[n] = '\0';
}

#endif
