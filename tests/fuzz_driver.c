/*
 * fuzz_driver: runs a libFuzzer target without libFuzzer. Replays every
 * file given (or found in the directories given), then mutates them for
 * a fixed number of iterations with a seeded PRNG, so the run is the same
 * every time (and under any compiler, valgrind included).
 *
 * usage: fuzz_driver [-n ITERATIONS] [-s SEED] FILE|DIR...
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_INPUT	(1024 * 1024)

struct input {
	uint8_t	*p;
	size_t	 len;
};

static struct input	*corpus;
static size_t		 ncorpus;
static uint64_t		 rng = 0x853c49e6748fea9bULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
add_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		fatal("cannot open %s", path);
	buf = xmalloc(FUZZ_MAX_INPUT);
	n = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	buf = xreallocarray(buf, n == 0 ? 1 : n, 1);
	corpus = xreallocarray(corpus, ncorpus + 1, sizeof *corpus);
	corpus[ncorpus].p = buf;
	corpus[ncorpus].len = n;
	ncorpus++;
}

static void
add_path(const char *path)
{
	struct stat	 sb;
	DIR		*d;
	struct dirent	*de;
	char		*sub;

	if (stat(path, &sb) != 0)
		fatal("cannot stat %s", path);
	if (!S_ISDIR(sb.st_mode)) {
		add_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		fatal("cannot open %s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		add_path(sub);
		free(sub);
	}
	closedir(d);
}

/* One random edit of buf (capacity FUZZ_MAX_INPUT); returns the new length. */
static size_t
mutate(uint8_t *buf, size_t len)
{
	static const uint8_t	 magic[] = { 0x00, 0x01, 0x02, 0x04, 0x05,
				    0x30, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xa0,
				    0xa1, 0xff };
	size_t			 pos, n;
	const struct input	*o;

	pos = len == 0 ? 0 : (size_t)(next() % len);
	switch (next() % 8) {
	case 0:			/* flip a bit */
		if (len > 0)
			buf[pos] ^= (uint8_t)(1 << (next() % 8));
		break;
	case 1:			/* an interesting byte (tags, lengths) */
		if (len > 0)
			buf[pos] = magic[next() % sizeof magic];
		break;
	case 2:			/* random byte */
		if (len > 0)
			buf[pos] = (uint8_t)next();
		break;
	case 3:			/* insert a byte */
		if (len < FUZZ_MAX_INPUT) {
			memmove(buf + pos + 1, buf + pos, len - pos);
			buf[pos] = (uint8_t)next();
			len++;
		}
		break;
	case 4:			/* delete a run */
		if (len > 0) {
			n = 1 + (size_t)(next() % 8);
			if (n > len - pos)
				n = len - pos;
			memmove(buf + pos, buf + pos + n, len - pos - n);
			len -= n;
		}
		break;
	case 5:			/* truncate */
		len = pos;
		break;
	case 6:			/* splice in part of another input */
		o = &corpus[next() % ncorpus];
		if (o->len > 0) {
			size_t	from = (size_t)(next() % o->len);

			n = 1 + (size_t)(next() % 64);
			if (n > o->len - from)
				n = o->len - from;
			if (n > FUZZ_MAX_INPUT - pos)
				n = FUZZ_MAX_INPUT - pos;
			memcpy(buf + pos, o->p + from, n);
			if (pos + n > len)
				len = pos + n;
		}
		break;
	default:		/* add to a byte (length fields) */
		if (len > 0)
			buf[pos] = (uint8_t)(buf[pos] + 1 + next() % 4);
		break;
	}
	return len;
}

int
main(int argc, char **argv)
{
	unsigned long	 iters = 20000, i, k, edits;
	uint8_t		*buf;
	size_t		 len;
	time_t		 t0;
	int		 c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		switch (c) {
		case 'n':
			iters = strtoul(optarg, NULL, 10);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 10) | 1;
			break;
		default:
			fprintf(stderr, "usage: fuzz_driver [-n ITER] [-s SEED] "
			    "FILE|DIR...\n");
			return 2;
		}
	}
	for (c = optind; c < argc; c++)
		add_path(argv[c]);
	if (ncorpus == 0)
		fatalx("no inputs");
	t0 = time(NULL);
	for (i = 0; i < ncorpus; i++)
		LLVMFuzzerTestOneInput(corpus[i].p, corpus[i].len);
	buf = xmalloc(FUZZ_MAX_INPUT);
	for (i = 0; i < iters; i++) {
		const struct input	*in = &corpus[next() % ncorpus];

		memcpy(buf, in->p, in->len);
		len = in->len;
		edits = 1 + next() % 4;
		for (k = 0; k < edits; k++)
			len = mutate(buf, len);
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz_driver: %zu inputs replayed, %lu mutations in %ld s\n",
	    ncorpus, iters, (long)(time(NULL) - t0));
	free(buf);
	for (i = 0; i < ncorpus; i++)
		free(corpus[i].p);
	free(corpus);
	return 0;
}
