// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The fuzz targets without libFuzzer: every build (gcc included) replays
 * each target's committed corpus (FUZZ_CORPUS, set at build time, or the
 * files and folders named on the command line), then feeds it mutations
 * of those inputs from a fixed seed, so a finding once made stays found
 * and a little new ground is covered on every run.  Prints TAP for
 * tests/run.sh; a failed check aborts, which the runner reports.
 *
 *   test_fuzz_NAME [-n MUTATIONS] [FILE|DIR...]
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"

#define FUZZ_MAX_INPUT (1 << 16)
#define FUZZ_MAX_FILES 4096

static uint8_t *inputs[FUZZ_MAX_FILES];
static size_t lens[FUZZ_MAX_FILES];
static int ninputs;

static int load(const char *path)
{
	static uint8_t buf[FUZZ_MAX_INPUT];
	struct stat st;
	size_t n;
	FILE *f;

	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode)) {
		struct dirent *de;
		char p[PATH_MAX];
		DIR *d = opendir(path);
		int err = 0;

		if (!d)
			return -errno;
		while (!err && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(p, sizeof(p), "%s/%s", path,
					     de->d_name) < sizeof(p))
				err = load(p);
		}
		closedir(d);
		return err;
	}
	if (ninputs >= FUZZ_MAX_FILES)
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	inputs[ninputs] = malloc(n ? n : 1);
	if (!inputs[ninputs])
		return -ENOMEM;
	memcpy(inputs[ninputs], buf, n);
	lens[ninputs++] = n;
	return 0;
}

static uint64_t rng = 0x6e657468756b21ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A corpus input with a few bytes changed, cut, or grown. */
static size_t mutate(uint8_t *buf, size_t cap)
{
	int i = (int)(rnd() % (uint32_t)ninputs), k;
	size_t n = lens[i];

	memcpy(buf, inputs[i], n);
	for (k = 1 + (int)(rnd() % 4); k > 0; k--) {
		switch (rnd() % 4) {
		case 0: /* a byte */
			if (n)
				buf[rnd() % n] = (uint8_t)rnd();
			break;
		case 1: /* cut */
			if (n)
				n = rnd() % n;
			break;
		case 2: /* a byte more */
			if (n < cap)
				buf[n++] = (uint8_t)rnd();
			break;
		default: /* a bit */
			if (n)
				buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	static uint8_t buf[FUZZ_MAX_INPUT];
	long mutations = 20000, m;
	int i = 1, err = 0;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		mutations = strtol(argv[2], NULL, 10);
		i = 3;
	}
	if (i < argc) {
		for (; i < argc && !err; i++)
			err = load(argv[i]);
	} else {
		err = load(FUZZ_CORPUS);
	}
	if (err || !ninputs) {
		printf("not ok - %s: a corpus to replay (%s)\n", FUZZ_NAME,
		       err ? strerror(-err) : "none found");
		return 1;
	}
	for (i = 0; i < ninputs; i++)
		LLVMFuzzerTestOneInput(inputs[i], lens[i]);
	printf("ok - %s: %d corpus inputs replayed\n", FUZZ_NAME, ninputs);
	for (m = 0; m < mutations; m++) {
		size_t n = mutate(buf, sizeof(buf));

		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ok - %s: %ld mutations of them\n", FUZZ_NAME, mutations);
	for (i = 0; i < ninputs; i++)
		free(inputs[i]);
	return 0;
}
