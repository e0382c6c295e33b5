// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pcap files of raw IP packets, written record by record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pcapw.h"

struct nh_pcapw {
	FILE *f;
	int err; /* the first write error, -errno */
};

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec;
	uint32_t caplen, len;
};

static int fail(struct nh_pcapw *w)
{
	int e = errno ? -errno : -EIO;

	if (!w->err)
		w->err = e;
	return e;
}

static int start(FILE *f, struct nh_pcapw **out)
{
	struct pcap_file_hdr h = {
		.magic = 0xa1b2c3d4,
		.major = 2,
		.minor = 4,
		.snaplen = NH_PCAPW_SNAPLEN,
		.linktype = NH_PCAPW_LINKTYPE_RAW,
	};
	struct nh_pcapw *w;

	w = calloc(1, sizeof(*w));
	if (!w) {
		fclose(f);
		return -ENOMEM;
	}
	w->f = f;
	errno = 0;
	if (fwrite(&h, sizeof(h), 1, f) != 1) {
		int e = fail(w);

		fclose(f);
		free(w);
		return e;
	}
	*out = w;
	return 0;
}

int nh_pcapw_fdopen(int fd, struct nh_pcapw **out)
{
	FILE *f;

	if (fd < 0 || !out)
		return -EINVAL;
	*out = NULL;
	f = fdopen(fd, "wb");
	if (!f) {
		int e = -errno;

		close(fd);
		return e;
	}
	return start(f, out);
}

int nh_pcapw_open(const char *path, struct nh_pcapw **out)
{
	int fd;

	if (!path || !*path || !out)
		return -EINVAL;
	*out = NULL;
	if (!strcmp(path, "-"))
		fd = dup(STDOUT_FILENO);
	else
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	return nh_pcapw_fdopen(fd, out);
}

int nh_pcapw_write(struct nh_pcapw *w, const void *data, size_t len,
		   size_t orig_len, uint64_t ts_ns)
{
	struct pcap_rec_hdr r;
	size_t cap = len > NH_PCAPW_SNAPLEN ? NH_PCAPW_SNAPLEN : len;

	if (!w || (!data && len))
		return -EINVAL;
	if (!orig_len || orig_len < len)
		orig_len = len;
	r.ts_sec = (uint32_t)(ts_ns / 1000000000ull);
	r.ts_usec = (uint32_t)(ts_ns % 1000000000ull / 1000);
	r.caplen = (uint32_t)cap;
	r.len = orig_len > UINT32_MAX ? UINT32_MAX : (uint32_t)orig_len;
	errno = 0;
	if (fwrite(&r, sizeof(r), 1, w->f) != 1 ||
	    (cap && fwrite(data, cap, 1, w->f) != 1))
		return fail(w);
	return 0;
}

int nh_pcapw_flush(struct nh_pcapw *w)
{
	if (!w)
		return -EINVAL;
	errno = 0;
	if (fflush(w->f))
		return fail(w);
	return 0;
}

int nh_pcapw_close(struct nh_pcapw *w)
{
	int r;

	if (!w)
		return -EINVAL;
	nh_pcapw_flush(w);
	errno = 0;
	if (fclose(w->f) && !w->err)
		w->err = errno ? -errno : -EIO;
	r = w->err;
	free(w);
	return r;
}
