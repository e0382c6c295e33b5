/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every file of the library shares: the export mark, optional
 * fields of a caller's struct, the way out of a failure. */
#ifndef NH_BASE_H
#define NH_BASE_H

#include <errno.h>
#include <stddef.h>

#define NH_API __attribute__((visibility("default")))

/* Fields of a caller's struct that it may not have, read as zero. */
#define NH_OPT(opts, field, def)                                        \
	((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + \
					 sizeof((opts)->field) ?        \
		 (opts)->field :                                        \
		 (def))

#define NH_RUN_DIR "/run/nethook"

/* Return -err and set errno: the library's one way out of a failure. */
static inline int nh_err(int err)
{
	errno = err < 0 ? -err : err;
	return err < 0 ? err : -err;
}

#endif
