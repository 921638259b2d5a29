/*
 * corelet-nft: the service proxy's nftables applier (src/agent/proxy/nft.ts), a long-lived process
 * around libnftables, so a rule sync does not start an `nft` process (exec, library load, netns
 * join) each time. One nft context is kept for the life of the process; its cache is read again by
 * libnftables itself whenever the ruleset generation moved.
 *
 *   corelet-nft
 *       Reads requests on stdin and answers each on stdout, in order, one at a time. EOF on stdin:
 *       exit 0. A malformed request (a length over the cap, unknown flags, a NUL byte in the text,
 *       a short read): a status-2 answer naming the problem, then exit 3 (the stream cannot be
 *       trusted to be in step any more; the caller starts a new process).
 *
 * Framing (all lengths 32-bit big-endian):
 *   request  = LEN, then LEN bytes: FLAGS (1 byte: bit 0 JSON output, bit 1 terse, i.e. no set
 *              elements), then the nft input (what `nft -f` reads: one transaction), no NUL byte.
 *              1 <= LEN <= 64 MiB.
 *   answer   = LEN, then LEN bytes: STATUS (1 byte: 0 applied, 1 nft refused it, 2 bad request),
 *              OUTLEN, OUTLEN bytes of nft's output (the listing of a `list` command), then the
 *              rest: nft's error text (for status 1 what `nft -f` prints, "<cmdline>:LINE:COL: ...").
 *              LEN <= 256 MiB (the caller checks it too).
 *
 * A transaction is atomic in the kernel: killed at any point, this process has either committed a
 * request's batch or not, never half of it (the caller replays or does a full sync).
 * Exit codes: 0 stdin closed, 1 cannot write the answer or out of memory, 2 usage, 3 bad request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <nftables/libnftables.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REQUEST (64u << 20)
#define MAX_ANSWER (256u << 20)
#define FLAG_JSON 1u
#define FLAG_TERSE 2u

/* Reads exactly n bytes; 1 on success, 0 on EOF before the first byte, -1 on a short read or error. */
static int read_full(void *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(0, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) return -1;
		if (r == 0) return got == 0 ? 0 : -1;
		got += (size_t)r;
	}
	return 1;
}

static void write_full(const void *buf, size_t n) {
	size_t put = 0;
	while (put < n) {
		ssize_t w = write(1, (const char *)buf + put, n - put);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) _exit(1);
		put += (size_t)w;
	}
}

static void put32(unsigned char *p, uint32_t v) {
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void answer(unsigned char status, const char *out, const char *err) {
	size_t outlen = out ? strlen(out) : 0, errlen = err ? strlen(err) : 0;
	if (outlen + errlen > MAX_ANSWER - 5) {
		/* nft's listing is larger than the caller accepts: say so rather than break the framing */
		out = NULL;
		outlen = 0;
		status = 1;
		err = "corelet-nft: the answer is over 256 MiB\n";
		errlen = strlen(err);
	}
	unsigned char head[9];
	put32(head, (uint32_t)(5 + outlen + errlen));
	head[4] = status;
	put32(head + 5, (uint32_t)outlen);
	write_full(head, sizeof head);
	if (outlen) write_full(out, outlen);
	if (errlen) write_full(err, errlen);
}

static int pwrite_full(int fd, const char *buf, size_t n) {
	size_t put = 0;
	while (put < n) {
		ssize_t w = pwrite(fd, buf + put, n - put, (off_t)put);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return -1;
		put += (size_t)w;
	}
	return 0;
}

/*
 * nft's error text with our memfd's name replaced by "/dev/stdin", as `nft -f -` prints it
 * ("/dev/stdin:3:1-4: Error: ..."), so the caller sees the same text from either. Static buffer.
 */
static const char *rewrite_name(const char *err, const char *name) {
	static char *out;
	static size_t cap;
	size_t nlen = strlen(name), need = strlen(err) + 1;
	if (need > cap) {
		free(out);
		cap = need * 2;
		out = malloc(cap);
		if (!out) {
			cap = 0;
			return err;
		}
	}
	char *w = out;
	const char *p = err, *hit;
	while ((hit = strstr(p, name)) != NULL) {
		memcpy(w, p, (size_t)(hit - p));
		w += hit - p;
		memcpy(w, "/dev/stdin", 10);
		w += 10;
		p = hit + nlen;
	}
	strcpy(w, p);
	return out;
}

static void bad_request(const char *why) {
	char msg[160];
	snprintf(msg, sizeof msg, "corelet-nft: bad request: %s\n", why);
	answer(2, NULL, msg);
	exit(3);
}

int main(int argc, char **argv) {
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: corelet-nft (requests on stdin, answers on stdout)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		fprintf(stderr, "corelet-nft: nft_ctx_new failed\n");
		return 1;
	}
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft)) {
		fprintf(stderr, "corelet-nft: cannot buffer nft's output\n");
		return 1;
	}
	const unsigned int base = nft_ctx_output_get_flags(nft);
	int input = memfd_create("corelet-nft-input", MFD_CLOEXEC);
	if (input < 0) {
		perror("corelet-nft: memfd_create");
		return 1;
	}
	char input_path[64];
	snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input);
	for (;;) {
		unsigned char head[4];
		int r = read_full(head, sizeof head);
		if (r == 0) break;
		if (r < 0) bad_request("the stream ended inside a length");
		uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
		if (len < 1) bad_request("length 0 (at least the flags byte)");
		if (len > MAX_REQUEST) bad_request("length over 64 MiB");
		char *buf = malloc((size_t)len + 1);
		if (!buf) {
			fprintf(stderr, "corelet-nft: out of memory\n");
			return 1;
		}
		if (read_full(buf, len) != 1) bad_request("the stream ended inside a request");
		unsigned char flags = (unsigned char)buf[0];
		if (flags & ~(FLAG_JSON | FLAG_TERSE)) bad_request("unknown flags");
		if (memchr(buf + 1, '\0', len - 1)) bad_request("a NUL byte in the nft input");
		buf[len] = '\0';
		unsigned int out = base;
		if (flags & FLAG_JSON) out |= NFT_CTX_OUTPUT_JSON;
		if (flags & FLAG_TERSE) out |= NFT_CTX_OUTPUT_TERSE;
		nft_ctx_output_set_flags(nft, out);
		/*
		 * Through a file, not nft_run_cmd_from_buffer: nft 1.0.6 names the line of an error
		 * only for file input (for a buffer it prints the buffer's first line, whatever line
		 * the error is on). The memfd is rewritten for each request.
		 */
		if (ftruncate(input, 0) || pwrite_full(input, buf + 1, len - 1)) {
			free(buf);
			answer(1, NULL, "corelet-nft: cannot write the input to its memfd\n");
			continue;
		}
		free(buf);
		int rc = nft_run_cmd_from_filename(nft, input_path);
		/* each get rewinds its buffer: the next request starts empty */
		const char *o = nft_ctx_get_output_buffer(nft);
		const char *e = nft_ctx_get_error_buffer(nft);
		answer(rc == 0 ? 0 : 1, o, rewrite_name(e, input_path));
	}
	nft_ctx_free(nft);
	return 0;
}
