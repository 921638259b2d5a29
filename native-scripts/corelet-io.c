/*
 * corelet-io: the byte-moving jobs of corelet's streaming server (exec, attach, port-forward) that
 * Node cannot do itself: talk SOCK_SEQPACKET to conmon's attach socket, and open a TCP connection
 * inside a pod's network namespace (setns). It relays between its stdin/stdout and one socket.
 *
 *   corelet-io attach [--status-fd N] [--no-stdin] SOCKET
 *       Connects to conmon's attach socket. conmon sends one packet per read of the container's
 *       output: a stream byte and the bytes, which go to our fd 1 or fd 2. conmon numbers its
 *       pipes stdin 1, stdout 2, stderr 3 (checked against conmon 2.1.6: `echo out; echo err >&2`
 *       arrives as 2 "out\n" and 3 "err\n"; a terminal's output is all stdout).
 *       Our stdin goes to the socket as plain packets (conmon writes them to the container's
 *       stdin); stdin EOF shuts the socket down for writing, which makes conmon close the
 *       container's stdin (unless it runs with --leave-stdin-open). With --no-stdin nothing is
 *       read and the socket is never shut down, so an output-only attach cannot close a
 *       stdin-once container's stdin. conmon has no end-of-stream message: it closes the socket
 *       when it exits, after the container (or exec'd process) has exited and its output has been
 *       drained. Then we exit 0.
 *
 *   corelet-io netconnect [--status-fd N] NETNS_PATH PORT
 *       Joins the network namespace NETNS_PATH, connects TCP to 127.0.0.1:PORT (then [::1]:PORT)
 *       and relays stdin to the connection and the connection to stdout, half-closing each way
 *       on its own (stdin EOF: shutdown(SHUT_WR); the peer's EOF: close our stdout). Exits once
 *       both ways are finished.
 *
 *   corelet-io subpath-mount VOLUME_ROOT SUBPATH TARGET
 *       The kubelet's subPath preparation (pkg/volume/util/subpath, Linux): opens SUBPATH beneath
 *       VOLUME_ROOT with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so '..' and symbolic
 *       links may be followed only while they stay inside the volume (an absolute link, or one
 *       that climbs out, fails with EXDEV), creating missing directories the same way, one
 *       component at a time. The opened O_PATH descriptor, not the path, is then bind-mounted
 *       (/proc/self/fd/N) on TARGET (made as an empty directory or file to match), so a link
 *       swapped in after the check changes nothing. Exit 4 when SUBPATH leaves the volume.
 *
 *   corelet-io serve
 *       The runtime daemon's host operations and programs, for as long as stdin is open: a 60-100
 *       MiB Node process forking itself costs ~1 ms of CPU plus copy-on-write faults and stalls its
 *       event loop until the child has exec'd; this process is ~1 MiB. A request is "N\n" then N
 *       fields, each "LEN:BYTES," (a netstring; a field may hold any byte but NUL); the first field
 *       is the request's ID, echoed at the start of its answer:
 *         ID mount SOURCE TARGET FSTYPE FLAGS DATA  mount(2); FLAGS decimal MS_* bits; FSTYPE, DATA "" = none
 *         ID umount TARGET FLAGS                    umount2(2); FLAGS 2 = MNT_DETACH (umount --lazy)
 *         ID netns NETFILE IPCFILE UTSFILE          what `unshare --net=NETFILE [--ipc=IPCFILE]
 *             [--uts=UTSFILE] ip link set lo up` did: in a child, new network (and IPC, UTS when
 *             the file is not "") namespaces, each bind-mounted on its existing file, loopback up
 *         ID exec FILE TIMEOUT_MS HAS_STDIN STDIN ENVC ENV... ARGV0 ARGS...
 *             runs FILE (PATH lookup) with stdin STDIN (or /dev/null when HAS_STDIN is 0), the
 *             environment ENV (ours when ENVC is -1), default signal handling; SIGKILL after
 *             TIMEOUT_MS (0: never). Many run at once; the answer comes when it has exited and
 *             both its outputs have ended: "ID exec CODE SIGNAL TIMEDOUT OUTLEN ERRLEN\n" then
 *             OUTLEN bytes of stdout and ERRLEN of stderr (CODE -1 when it died of SIGNAL).
 *       mount, umount and netns are answered at once, in order: "ID ok" or "ID err ERRNO MESSAGE"
 *       (an exec that cannot start too). A malformed request ends it (exit 2); so does stdin's end,
 *       once the programs still running have been answered.
 *
 * --status-fd N: once connected, "connected\n" is written to fd N, so the caller knows the socket
 * is in place (exec starts the process only then). In attach mode fd 2 carries the container's
 * stderr, so our own messages go to fd N instead ("error: ...\n").
 *
 * Exit codes: 0 done, 1 failure after connecting or while setting up, 2 usage, 3 cannot connect
 * (attach: conmon is gone; netconnect: nothing listens on the port).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3, EXIT_ESCAPE = 4 };

/* conmon 2.1 reads at most 8192 bytes of a client packet into its buffer and drops the rest of
 * a longer packet (SOCK_SEQPACKET truncates), so input is sent in chunks no larger than that. */
#define IN_CHUNK 8192
/* conmon's packets are one read of the container's output (8 KiB, 32 KiB in later versions)
 * plus the stream byte; a larger buffer never truncates them. */
#define OUT_BUF (64 * 1024 + 1)

/* conmon's stdpipe_t: 1 is stdin (never sent to clients). */
#define STREAM_STDOUT 2
#define STREAM_STDERR 3

static const char *prog = "corelet-io";
static int status_fd = -1;
static int diag_fd = STDERR_FILENO;

static void say(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	char line[1200];
	int m = snprintf(line, sizeof line, "%s%s: %.*s\n", prefix, prog, n, msg);
	if (m <= 0)
		return;
	if ((size_t)m >= sizeof line)
		m = sizeof line - 1;
	/* Best effort: a message we cannot deliver changes nothing. */
	ssize_t w = write(diag_fd, line, (size_t)m);
	(void)w;
}

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(diag_fd == status_fd ? "error: " : "", fmt, ap);
	va_end(ap);
	exit(code);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	static const char text[] =
		"usage: corelet-io attach [--status-fd N] [--no-stdin] SOCKET\n"
		"       corelet-io netconnect [--status-fd N] NETNS_PATH PORT\n"
		"       corelet-io subpath-mount VOLUME_ROOT SUBPATH TARGET\n"
		"       corelet-io serve\n";
	ssize_t w = write(STDERR_FILENO, text, sizeof text - 1);
	(void)w;
	exit(EXIT_USAGE);
}

/* Writes all of buf to a blocking fd; false on failure (errno set). */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

static void set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		die(EXIT_FAIL, "making the socket non-blocking: %s", strerror(errno));
}

static void report_connected(void)
{
	if (status_fd < 0)
		return;
	if (!write_all(status_fd, "connected\n", 10))
		die(EXIT_FAIL, "writing to the status fd: %s", strerror(errno));
}

/*
 * Connects a SOCK_SEQPACKET socket to path. A unix socket address holds at most 107 bytes, and
 * conmon's socket paths can be longer, so the socket is reached through an O_PATH descriptor of
 * its folder: /proc/self/fd/<dirfd>/<name>. Returns -1 with errno set on failure.
 */
static int connect_seqpacket(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char dir[4096];
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t len = (size_t)(slash - path);
		if (len >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	if (*name == '\0') {
		errno = EINVAL;
		return -1;
	}

	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	int n = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof addr.sun_path) {
		close(dirfd);
		errno = ENAMETOOLONG;
		return -1;
	}

	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int saved = errno;
		close(dirfd);
		errno = saved;
		return -1;
	}
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	while (rc < 0 && errno == EINTR);
	int saved = errno;
	close(dirfd);
	if (rc < 0) {
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* One TCP connect attempt; returns the socket or -1 with errno set. */
static int connect_tcp(int family, const struct sockaddr *addr, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc;
	do
		rc = connect(fd, addr, len);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * The relay between our stdio and the socket. The socket is non-blocking and input waiting to be
 * sent is kept in a buffer, so that we always go on reading the socket: conmon writes to us with
 * blocking writes and reads our input only from its main loop, so blocking on a send while conmon
 * blocks on a write to us would deadlock both (a TCP peer can do the same). Writes to our own
 * stdout/stderr block: that is the caller's back-pressure.
 */
struct relay {
	int sock;
	bool packets; /* attach: packets carry a stream byte */

	/* stdin -> socket */
	bool in_reading;   /* stdin not at EOF yet */
	bool in_done;      /* nothing more will be sent (shut down, or the socket refused) */
	bool shut_on_eof;  /* shutdown(SHUT_WR) once stdin ends and the buffer is sent */
	char in_buf[IN_CHUNK];
	size_t in_len, in_off;

	/* socket -> stdout (/stderr) */
	bool out_open;
	char out_buf[OUT_BUF];
};

static void finish_input(struct relay *r)
{
	if (r->in_done)
		return;
	r->in_done = true;
	if (r->shut_on_eof && shutdown(r->sock, SHUT_WR) < 0 && errno != ENOTCONN)
		die(EXIT_FAIL, "shutting down the socket for writing: %s", strerror(errno));
}

/* Drops input that can never be delivered (the peer stopped reading) and stops reading stdin. */
static void input_broken(struct relay *r)
{
	r->in_reading = false;
	r->in_done = true;
	r->in_len = r->in_off = 0;
}

/* Sends what is buffered, as far as the socket takes it now. */
static void send_pending(struct relay *r)
{
	while (r->in_off < r->in_len) {
		ssize_t w = send(r->sock, r->in_buf + r->in_off, r->in_len - r->in_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EPIPE, ECONNRESET: the other side no longer reads. Output may still come. */
			input_broken(r);
			return;
		}
		r->in_off += (size_t)w;
	}
	r->in_len = r->in_off = 0;
	if (!r->in_reading)
		finish_input(r);
}

static void read_stdin(struct relay *r)
{
	ssize_t n = read(STDIN_FILENO, r->in_buf, sizeof r->in_buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF, or stdin failed, which is as final. */
		r->in_reading = false;
		finish_input(r);
		return;
	}
	r->in_len = (size_t)n;
	r->in_off = 0;
	send_pending(r);
}

static void output_ended(struct relay *r)
{
	r->out_open = false;
	/* netconnect: the peer's EOF becomes ours, so the reader sees the half-close. */
	if (!r->packets)
		close(STDOUT_FILENO);
}

static void read_socket(struct relay *r)
{
	ssize_t n = recv(r->sock, r->out_buf, sizeof r->out_buf, 0);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == ECONNRESET) {
			/* The peer went away without a clean close: nothing more comes or goes. */
			input_broken(r);
			output_ended(r);
			return;
		}
		die(EXIT_FAIL, "reading the socket: %s", strerror(errno));
	}
	if (n == 0) {
		output_ended(r);
		return;
	}
	if (!r->packets) {
		if (!write_all(STDOUT_FILENO, r->out_buf, (size_t)n))
			die(EXIT_FAIL, "writing to stdout: %s", strerror(errno));
		return;
	}
	/* Other stream numbers are not sent by conmon; ignore rather than guess. */
	int fd = r->out_buf[0] == STREAM_STDOUT ? STDOUT_FILENO : r->out_buf[0] == STREAM_STDERR ? STDERR_FILENO : -1;
	if (fd < 0 || n == 1)
		return;
	if (!write_all(fd, r->out_buf + 1, (size_t)n - 1))
		die(EXIT_FAIL, "writing to %s: %s", fd == STDOUT_FILENO ? "stdout" : "stderr", strerror(errno));
}

/* attach ends when conmon closes; netconnect when both ways are finished. */
static bool relay_finished(const struct relay *r)
{
	if (r->packets)
		return !r->out_open;
	return !r->out_open && r->in_done;
}

static void run_relay(struct relay *r)
{
	set_nonblocking(r->sock);
	while (!relay_finished(r)) {
		bool pending = r->in_off < r->in_len;
		struct pollfd fds[2];
		fds[0].fd = r->sock;
		fds[0].events = (short)((r->out_open ? POLLIN : 0) | (pending ? POLLOUT : 0));
		fds[0].revents = 0;
		if (fds[0].events == 0)
			fds[0].fd = -1;
		/* Read more input only once the last chunk is sent. */
		fds[1].fd = r->in_reading && !pending ? STDIN_FILENO : -1;
		fds[1].events = POLLIN;
		fds[1].revents = 0;
		if (fds[0].fd < 0 && fds[1].fd < 0) {
			/* Output is over and input can only wait for a peer that reads nothing more. */
			break;
		}
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (r->out_open)
				read_socket(r);
			else if (r->in_off < r->in_len)
				send_pending(r); /* reports the error that ends input */
		}
		if ((fds[0].revents & POLLOUT) && r->in_off < r->in_len)
			send_pending(r);
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			read_stdin(r);
	}
}

/* Parses a decimal int in [min, max]; false when s is not one. */
static bool parse_int(const char *s, long min, long max, long *out)
{
	if (*s == '\0')
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

struct options {
	bool no_stdin;
	int argc;
	char **argv; /* positional arguments */
};

static struct options parse_options(int argc, char **argv, bool allow_no_stdin)
{
	struct options o = {false, 0, NULL};
	int i = 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(a, "--", 2) != 0)
			break;
		if (strcmp(a, "--status-fd") == 0 && i + 1 < argc) {
			long fd;
			if (!parse_int(argv[++i], 3, 1 << 20, &fd) || fcntl((int)fd, F_GETFD) < 0)
				die(EXIT_USAGE, "--status-fd %s: not an open file descriptor above 2", argv[i]);
			status_fd = (int)fd;
		} else if (allow_no_stdin && strcmp(a, "--no-stdin") == 0) {
			o.no_stdin = true;
		} else {
			usage();
		}
	}
	o.argc = argc - i;
	o.argv = argv + i;
	return o;
}

static int cmd_attach(int argc, char **argv)
{
	struct options o = parse_options(argc, argv, true);
	if (o.argc != 1)
		usage();
	/* fd 2 is the container's stderr from now on. */
	if (status_fd >= 0)
		diag_fd = status_fd;
	const char *path = o.argv[0];

	int sock = connect_seqpacket(path);
	if (sock < 0)
		die(EXIT_CONNECT, "attach: cannot connect to %s: %s", path, strerror(errno));
	report_connected();

	static struct relay r;
	r.sock = sock;
	r.packets = true;
	r.out_open = true;
	r.shut_on_eof = true;
	if (o.no_stdin) {
		r.in_reading = false;
		r.in_done = true;
	} else {
		r.in_reading = true;
	}
	run_relay(&r);
	close(sock);
	return EXIT_DONE;
}

static int cmd_netconnect(int argc, char **argv)
{
	struct options o = parse_options(argc, argv, false);
	if (o.argc != 2)
		usage();
	const char *netns = o.argv[0];
	long port;
	if (!parse_int(o.argv[1], 1, 65535, &port))
		die(EXIT_USAGE, "netconnect: port %s is not a number in 1-65535", o.argv[1]);

	int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die(EXIT_FAIL, "netconnect: cannot open network namespace %s: %s", netns, strerror(errno));
	if (setns(nsfd, CLONE_NEWNET) < 0)
		die(EXIT_FAIL, "netconnect: cannot join network namespace %s: %s", netns, strerror(errno));
	close(nsfd);

	struct sockaddr_in v4;
	memset(&v4, 0, sizeof v4);
	v4.sin_family = AF_INET;
	v4.sin_port = htons((uint16_t)port);
	v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int sock = connect_tcp(AF_INET, (struct sockaddr *)&v4, sizeof v4);
	if (sock < 0) {
		int err4 = errno;
		/* A server may listen on IPv6 only. */
		struct sockaddr_in6 v6;
		memset(&v6, 0, sizeof v6);
		v6.sin6_family = AF_INET6;
		v6.sin6_port = htons((uint16_t)port);
		v6.sin6_addr = in6addr_loopback;
		sock = connect_tcp(AF_INET6, (struct sockaddr *)&v6, sizeof v6);
		if (sock < 0) {
			int err6 = errno;
			die(EXIT_CONNECT, "netconnect: cannot connect to port %ld in network namespace %s: 127.0.0.1: %s; [::1]: %s", port,
			    netns, strerror(err4), strerror(err6));
		}
	}
	report_connected();

	static struct relay r;
	r.sock = sock;
	r.packets = false;
	r.out_open = true;
	r.shut_on_eof = true;
	r.in_reading = true;
	run_relay(&r);
	close(sock);
	return EXIT_DONE;
}

/* openat2 beneath dirfd, never through magic links (/proc/PID/fd/...); -1 with errno on failure. */
static int open_beneath(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	for (;;) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			return (int)fd;
	}
}

static void subpath_fail(int err, const char *root, const char *sub)
{
	if (err == EXDEV || err == ELOOP)
		die(EXIT_ESCAPE, "subPath \"%s\" is outside the volume %s (a symbolic link or '..' leads out of it)", sub, root);
	die(EXIT_FAIL, "subPath \"%s\" of volume %s: %s", sub, root, strerror(err));
}

static int cmd_subpath_mount(int argc, char **argv)
{
	if (argc != 3)
		usage();
	const char *root = argv[0], *sub = argv[1], *target = argv[2];
	if (sub[0] == '/' || sub[0] == '\0')
		die(EXIT_USAGE, "subPath \"%s\" must be a non-empty relative path", sub);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die(EXIT_FAIL, "volume %s: %s", root, strerror(errno));
	int fd = open_beneath(rootfd, sub);
	if (fd < 0 && errno == ENOENT) {
		/* Make the missing directories one component at a time, each beneath the last. */
		char *copy = strdup(sub);
		if (!copy)
			die(EXIT_FAIL, "out of memory");
		int cur = dup(rootfd);
		char *save = NULL;
		for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			if (strcmp(c, ".") == 0)
				continue;
			int next = open_beneath(cur, c);
			if (next < 0 && errno == ENOENT) {
				if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
					subpath_fail(errno, root, sub);
				next = open_beneath(cur, c);
			}
			if (next < 0)
				subpath_fail(errno, root, sub);
			close(cur);
			cur = next;
		}
		free(copy);
		/* The whole path again, as one lookup beneath the root: what a link made meanwhile leads to. */
		close(cur);
		fd = open_beneath(rootfd, sub);
	}
	if (fd < 0)
		subpath_fail(errno, root, sub);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(EXIT_FAIL, "subPath \"%s\": %s", sub, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(target, 0750) < 0 && errno != EEXIST)
			die(EXIT_FAIL, "making %s: %s", target, strerror(errno));
	} else {
		int t = open(target, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (t < 0)
			die(EXIT_FAIL, "making %s: %s", target, strerror(errno));
		close(t);
	}
	char src[64];
	snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		die(EXIT_FAIL, "bind-mounting subPath \"%s\" of %s on %s: %s", sub, root, target, strerror(errno));
	return EXIT_DONE;
}

/* ---- serve: host operations for the runtime daemon, over stdin/stdout ---- */

#define SERVE_MAX_FIELDS 1024
#define SERVE_MAX_FIELD (1024 * 1024)
#define SERVE_MAX_JOBS 512
#define SERVE_MAX_OUTPUT (16 * 1024 * 1024) /* per output of a program; past it the rest is read and dropped */

/* Requests read so far (stdin is read whenever poll says so; requests are parsed from here). */
static char *rq_buf;
static size_t rq_len, rq_cap;

/* A decimal number at buf[*at..] up to term; -1 malformed, 0 incomplete, 1 done. */
static int parse_number(const char *buf, size_t len, size_t *at, char term, size_t max, size_t *out)
{
	size_t v = 0, i = *at;
	int digits = 0;
	for (; i < len && buf[i] != term; i++) {
		if (buf[i] < '0' || buf[i] > '9' || ++digits > 9)
			return -1;
		v = v * 10 + (size_t)(buf[i] - '0');
	}
	if (i == len)
		return digits > 9 ? -1 : 0;
	if (digits == 0 || v > max)
		return -1;
	*out = v;
	*at = i + 1;
	return 1;
}

#define SERVE_MAX_ID 20 /* request ids are decimal counters */
#define SERVE_NUMBER_MAX 999999999

/*
 * A request over the limits (a field over SERVE_MAX_FIELD, more than SERVE_MAX_FIELDS fields, an id
 * over SERVE_MAX_ID) is read past, not kept, and answered E2BIG once its last byte is read: only that
 * request fails, the others go on. Its id is known when it came first and was short; else "0".
 */
static struct {
	bool on;
	size_t fields_left, bytes_left;
	char id[SERVE_MAX_ID + 1];
} skip;

static void consume_input(size_t at)
{
	memmove(rq_buf, rq_buf + at, rq_len - at);
	rq_len -= at;
}

static void answer(const char *id, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads past what is left of a skipped request in rq_buf; answers it when it has all been read. */
static void skip_input(void)
{
	size_t at = 0;
	while (skip.on) {
		if (skip.bytes_left) {
			size_t k = rq_len - at < skip.bytes_left ? rq_len - at : skip.bytes_left;
			at += k;
			skip.bytes_left -= k;
			if (skip.bytes_left)
				break;
			continue;
		}
		if (!skip.fields_left) {
			skip.on = false;
			answer(skip.id, E2BIG, "request over the helper's limits (a field over %d bytes or more than %d fields)", SERVE_MAX_FIELD,
			       SERVE_MAX_FIELDS);
			break;
		}
		size_t len;
		int r = parse_number(rq_buf, rq_len, &at, ':', SERVE_NUMBER_MAX, &len);
		if (r < 0)
			die(EXIT_USAGE, "serve: malformed request");
		if (r == 0)
			break;
		skip.fields_left--;
		skip.bytes_left = len + 1; /* and its comma */
	}
	consume_input(at);
}

/*
 * One whole request from rq_buf into fields (NUL-terminated copies, freed by the caller): the field
 * count; 0 when the buffer does not hold a whole request yet; -1 when it is malformed; -2 when it is
 * over the limits (then being skipped: skip_input).
 */
static int take_request(char **fields)
{
	size_t at = 0, n;
	int r = parse_number(rq_buf, rq_len, &at, '\n', SERVE_NUMBER_MAX, &n);
	if (r <= 0)
		return r;
	if (n < 2)
		return -1;
	size_t starts[SERVE_MAX_FIELDS], lens[SERVE_MAX_FIELDS];
	for (size_t i = 0; i < n; i++) {
		size_t len;
		r = parse_number(rq_buf, rq_len, &at, ':', SERVE_NUMBER_MAX, &len);
		if (r <= 0)
			return r;
		bool over = len > SERVE_MAX_FIELD || (i == 0 && len > SERVE_MAX_ID) || (i > 0 && n > SERVE_MAX_FIELDS);
		if (over) {
			skip.on = true;
			skip.fields_left = n - i - 1;
			skip.bytes_left = len + 1;
			if (i > 0) {
				memcpy(skip.id, rq_buf + starts[0], lens[0]);
				skip.id[lens[0]] = '\0';
			} else {
				strcpy(skip.id, "0");
			}
			consume_input(at);
			return -2;
		}
		lens[i] = len;
		if (rq_len < at + lens[i] + 1)
			return 0;
		if (rq_buf[at + lens[i]] != ',' || memchr(rq_buf + at, '\0', lens[i]))
			return -1;
		starts[i] = at;
		at += lens[i] + 1;
	}
	for (size_t i = 0; i < n; i++) {
		fields[i] = malloc(lens[i] + 1);
		if (!fields[i])
			die(EXIT_FAIL, "serve: out of memory");
		memcpy(fields[i], rq_buf + starts[i], lens[i]);
		fields[i][lens[i]] = '\0';
	}
	consume_input(at);
	return (int)n;
}

static void write_out(const char *buf, size_t len)
{
	if (!write_all(STDOUT_FILENO, buf, len))
		exit(EXIT_DONE); /* the daemon is gone */
}

static void answer(const char *id, int err, const char *fmt, ...)
{
	char line[1200];
	int len;
	if (err == 0) {
		len = snprintf(line, sizeof line, "%s ok\n", id);
	} else {
		char msg[1024];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' '; /* one line, whatever a path held */
		len = snprintf(line, sizeof line, "%s err %d %s\n", id, err, msg);
	}
	if (len > 0)
		write_out(line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

/* In a child: new namespaces, each bound on its file, loopback up. Writes "ERRNO MESSAGE" to fd on failure. */
static void netns_child(int fd, const char *net, const char *ipc, const char *uts)
{
	char msg[512];
	int flags = CLONE_NEWNET | (*ipc ? CLONE_NEWIPC : 0) | (*uts ? CLONE_NEWUTS : 0);
	const char *step = "unshare";
	if (unshare(flags) < 0)
		goto fail;
	struct {
		const char *file, *ns;
	} binds[] = {{net, "/proc/self/ns/net"}, {ipc, "/proc/self/ns/ipc"}, {uts, "/proc/self/ns/uts"}};
	for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
		if (!*binds[i].file)
			continue;
		step = binds[i].file;
		if (mount(binds[i].ns, binds[i].file, NULL, MS_BIND, NULL) < 0)
			goto fail;
	}
	step = "bringing lo up";
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		goto fail;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	_exit(0);
fail:;
	int err = errno;
	int len = snprintf(msg, sizeof msg, "%d %s: %s", err, step, strerror(err));
	if (len > 0 && write(fd, msg, (size_t)len) < 0)
		_exit(1);
	_exit(1);
}

/*
 * A program run for an `exec` request, until it has exited and both its outputs have ended; or a
 * forked child making one host operation (mount, umount, netns: `op`), so that one which blocks (a
 * hung FUSE or NFS path) holds up only its own answer, never the loop. An op child's out carries
 * "ERRNO MESSAGE" when it failed.
 */
struct job {
	char *id;
	bool op;
	pid_t pid;
	int pidfd, in, out, err;
	char *input;
	size_t in_len, in_off;
	char *obuf, *ebuf;
	size_t olen, ocap, elen, ecap;
	long long deadline; /* ms on CLOCK_MONOTONIC; 0: none */
	bool timed_out, exited, dropped;
	int status;
};
static struct job *jobs[SERVE_MAX_JOBS];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int free_slot(void)
{
	for (int i = 0; i < SERVE_MAX_JOBS; i++)
		if (!jobs[i])
			return i;
	return -1;
}

static struct job *new_job(int slot, const char *id, pid_t pid)
{
	struct job *j = calloc(1, sizeof *j);
	char *copy = strdup(id);
	if (!j || !copy)
		die(EXIT_FAIL, "serve: out of memory");
	j->id = copy;
	j->pid = pid;
	/* without pidfd_open (kernel < 5.3, a seccomp profile answering ENOSYS/EPERM) the loop polls waitpid */
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	j->in = j->out = j->err = -1;
	jobs[slot] = j;
	return j;
}

/* In an op child: the operation; "ERRNO MESSAGE" on fd and exit 1 when it failed. */
static void op_child(int fd, char **f)
{
	const char *op = f[1];
	long flags = 0;
	char msg[1024];
	int len = 0;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the helper's stdin/stdout/stderr are the daemon's pipes: a child blocked in the kernel must not hold them open */
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);
	if (strcmp(op, "mount") == 0) {
		parse_int(f[5], 0, 0x7fffffff, &flags);
		if (mount(f[2], f[3], *f[4] ? f[4] : NULL, (unsigned long)flags, *f[6] ? f[6] : NULL) < 0)
			len = snprintf(msg, sizeof msg, "%d mounting %s on %s: %s", errno, f[2], f[3], strerror(errno));
	} else if (strcmp(op, "umount") == 0) {
		parse_int(f[3], 0, 0xff, &flags);
		if (umount2(f[2], (int)flags) < 0)
			len = snprintf(msg, sizeof msg, "%d %s: %s", errno, f[2], errno == EINVAL ? "not mounted" : strerror(errno));
	} else {
		netns_child(fd, f[2], f[3], f[4]);
	}
	if (len > 0) {
		if (write(fd, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1) < 0)
			_exit(1);
		_exit(1);
	}
	_exit(0);
}

/* mount, umount, netns: made by a forked child, answered when it ends (finish_job). */
static void start_op(char **f)
{
	const char *id = f[0];
	int slot = free_slot();
	if (slot < 0) {
		answer(id, EAGAIN, "%s: too many operations running", f[1]);
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		answer(id, errno, "%s: pipe: %s", f[1], strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		answer(id, e, "%s: fork: %s", f[1], strerror(e));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		op_child(p[1], f);
	}
	close(p[1]);
	struct job *j = new_job(slot, id, pid);
	j->op = true;
	j->out = p[0];
}

/* exec ID FILE TIMEOUT_MS HAS_STDIN STDIN ENVC ENV... ARG0 ARGS...: ENVC -1 keeps our environment. */
static void start_job(char **f, int n)
{
	const char *id = f[0];
	long timeout, has_stdin, envc;
	if (n < 8 || !parse_int(f[3], 0, 1L << 40, &timeout) || !parse_int(f[4], 0, 1, &has_stdin) || !parse_int(f[6], -1, n, &envc) ||
	    (envc >= 0 && 7 + envc >= n) || (envc < 0 && n < 8)) {
		answer(id, EINVAL, "malformed exec request");
		return;
	}
	int slot = free_slot();
	if (slot < 0) {
		answer(id, EAGAIN, "could not run %s: too many programs running", f[2]);
		return;
	}
	int first_arg = 7 + (envc > 0 ? (int)envc : 0);
	char **argv = calloc((size_t)(n - first_arg + 1), sizeof *argv);
	char **envp = envc >= 0 ? calloc((size_t)envc + 1, sizeof *envp) : NULL;
	if (!argv || (envc >= 0 && !envp))
		die(EXIT_FAIL, "serve: out of memory");
	for (int i = first_arg; i < n; i++)
		argv[i - first_arg] = f[i];
	for (long i = 0; i < envc; i++)
		envp[i] = f[7 + i];
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ex[2] = {-1, -1};
	if ((has_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
		int e = errno;
		int *made[] = {in, out, err, ex};
		for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
			close_fd(&made[i][0]);
			close_fd(&made[i][1]);
		}
		answer(id, e, "could not run %s: pipe: %s", f[2], strerror(e));
		free(argv);
		free(envp);
		return;
	}
	pid_t helper = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* dies with the helper (no orphan racing the daemon's rollback); its own process group, killed whole at the deadline */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != helper)
			_exit(127);
		setpgid(0, 0);
		/* the daemon's children get default signal handling and an open mask */
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = has_stdin ? -1 : open("/dev/null", O_RDONLY);
		if (dup2(has_stdin ? in[0] : devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			goto child_fail;
		if (envp)
			execvpe(f[2], argv, envp);
		else
			execvp(f[2], argv);
	child_fail:;
		int e = errno;
		if (write(ex[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	int fork_err = errno;
	if (pid > 0)
		setpgid(pid, pid); /* also here: the group exists before any kill; EACCES once it exec'd is fine */
	close_fd(&in[0]);
	close(out[1]);
	close(err[1]);
	close(ex[1]);
	free(argv);
	free(envp);
	if (pid < 0) {
		close_fd(&in[1]);
		close(out[0]);
		close(err[0]);
		close(ex[0]);
		answer(id, fork_err, "could not run %s: fork: %s", f[2], strerror(fork_err));
		return;
	}
	int exec_errno = 0;
	ssize_t got;
	while ((got = read(ex[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
		;
	close(ex[0]);
	if (got == (ssize_t)sizeof exec_errno) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close_fd(&in[1]);
		close(out[0]);
		close(err[0]);
		answer(id, exec_errno, "could not run %s: %s", f[2], strerror(exec_errno));
		return;
	}
	struct job *j = new_job(slot, id, pid);
	j->in = in[1];
	j->out = out[0];
	j->err = err[0];
	if (j->in >= 0) {
		set_nonblocking(j->in);
		j->in_len = strlen(f[5]);
		j->input = strdup(f[5]);
		if (!j->input)
			die(EXIT_FAIL, "serve: out of memory");
		if (j->in_len == 0)
			close_fd(&j->in);
	}
	j->deadline = timeout > 0 ? now_ms() + timeout : 0;
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n > *cap) {
		size_t want = (*cap ? *cap * 2 : 4096);
		while (want < *len + n)
			want *= 2;
		char *b = realloc(*buf, want);
		if (!b)
			die(EXIT_FAIL, "serve: out of memory");
		*buf = b;
		*cap = want;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
}

static void drain(int *fd, char **buf, size_t *len, size_t *cap, bool *dropped)
{
	char chunk[65536];
	ssize_t n = read(*fd, chunk, sizeof chunk);
	if (n > 0 && *len < SERVE_MAX_OUTPUT) {
		size_t keep = (size_t)n < SERVE_MAX_OUTPUT - *len ? (size_t)n : SERVE_MAX_OUTPUT - *len;
		append(buf, len, cap, chunk, keep);
		*dropped |= keep < (size_t)n;
	} else if (n > 0) {
		*dropped = true;
	}
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		close_fd(fd);
}

/* A finished job's answer: "ID exec CODE SIGNAL TIMEDOUT OUTLEN ERRLEN\n" then the two outputs. */
static void finish_job(int slot)
{
	struct job *j = jobs[slot];
	if (j->op) {
		append(&j->obuf, &j->olen, &j->ocap, "", 1);
		char *rest;
		long err = strtol(j->obuf, &rest, 10);
		if (WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0)
			answer(j->id, 0, "%s", "");
		else if (err > 0)
			answer(j->id, (int)err, "%s", *rest == ' ' ? rest + 1 : rest);
		else
			answer(j->id, EIO, "the operation's child ended without a word (status %d)", j->status);
		j->olen = j->elen = 0;
		goto done;
	}
	if (j->dropped) {
		static const char note[] = "\ncorelet-io: output over 16 MiB dropped\n";
		append(&j->ebuf, &j->elen, &j->ecap, note, sizeof note - 1);
	}
	int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;
	int sig = WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
	char line[256];
	/* ids are at most SERVE_MAX_ID digits (take_request): the line fits */
	int len = snprintf(line, sizeof line, "%s exec %d %d %d %zu %zu\n", j->id, code, sig, j->timed_out ? 1 : 0, j->olen, j->elen);
	if (len <= 0 || (size_t)len >= sizeof line)
		die(EXIT_FAIL, "serve: answer line too long");
	write_out(line, (size_t)len);
	if (j->olen)
		write_out(j->obuf, j->olen);
	if (j->elen)
		write_out(j->ebuf, j->elen);
done:
	close_fd(&j->pidfd);
	close_fd(&j->in);
	free(j->id);
	free(j->input);
	free(j->obuf);
	free(j->ebuf);
	free(j);
	jobs[slot] = NULL;
}

static void run_request(char **f, int n)
{
	const char *id = f[0], *op = f[1];
	long flags;
	if ((strcmp(op, "mount") == 0 && n == 7 && parse_int(f[5], 0, 0x7fffffff, &flags)) || (strcmp(op, "umount") == 0 && n == 4 && parse_int(f[3], 0, 0xff, &flags)) ||
	    (strcmp(op, "netns") == 0 && n == 5)) {
		start_op(f);
	} else if (strcmp(op, "exec") == 0) {
		start_job(f, n);
	} else {
		answer(id, EINVAL, "unknown request %s with %d fields", op, n);
	}
}

static int cmd_serve(int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		usage();
	static char *f[SERVE_MAX_FIELDS];
	static struct pollfd pfd[1 + 4 * SERVE_MAX_JOBS];
	bool input_open = true;
	for (;;) {
		int active = 0;
		nfds_t np = 0;
		long long next_deadline = 0;
		bool waitpid_poll = false;
		if (input_open)
			pfd[np++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		for (int i = 0; i < SERVE_MAX_JOBS; i++) {
			struct job *j = jobs[i];
			if (!j)
				continue;
			active++;
			if (j->in >= 0)
				pfd[np++] = (struct pollfd){.fd = j->in, .events = POLLOUT};
			if (j->out >= 0)
				pfd[np++] = (struct pollfd){.fd = j->out, .events = POLLIN};
			if (j->err >= 0)
				pfd[np++] = (struct pollfd){.fd = j->err, .events = POLLIN};
			if (!j->exited && j->pidfd >= 0)
				pfd[np++] = (struct pollfd){.fd = j->pidfd, .events = POLLIN};
			if (!j->exited && j->pidfd < 0)
				waitpid_poll = true;
			if (j->deadline && !j->timed_out && (!next_deadline || j->deadline < next_deadline))
				next_deadline = j->deadline;
		}
		if (!input_open && active == 0)
			return EXIT_DONE;
		int timeout = -1;
		if (next_deadline) {
			long long left = next_deadline - now_ms();
			timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
		}
		if (waitpid_poll && (timeout < 0 || timeout > 20))
			timeout = 20; /* a job without a pidfd: its exit is found by waitpid below */
		if (poll(pfd, np, timeout) < 0 && errno != EINTR)
			die(EXIT_FAIL, "serve: poll: %s", strerror(errno));
		for (nfds_t k = 0; k < np; k++) {
			if (!pfd[k].revents)
				continue;
			int fd = pfd[k].fd;
			if (fd == STDIN_FILENO && input_open) {
				if (rq_cap - rq_len < 65536) {
					rq_cap = rq_cap ? rq_cap * 2 : 131072;
					rq_buf = realloc(rq_buf, rq_cap);
					if (!rq_buf)
						die(EXIT_FAIL, "serve: out of memory");
				}
				ssize_t r = read(STDIN_FILENO, rq_buf + rq_len, rq_cap - rq_len);
				if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
					input_open = false;
				} else if (r > 0) {
					rq_len += (size_t)r;
					for (;;) {
						skip_input();
						if (skip.on)
							break;
						int nf = take_request(f);
						if (nf == -2)
							continue;
						if (nf == -1)
							die(EXIT_USAGE, "serve: malformed request");
						if (nf == 0)
							break;
						run_request(f, nf);
						for (int i = 0; i < nf; i++)
							free(f[i]);
					}
				}
				continue;
			}
			for (int i = 0; i < SERVE_MAX_JOBS; i++) {
				struct job *j = jobs[i];
				if (!j)
					continue;
				if (fd == j->in) {
					ssize_t w = write(j->in, j->input + j->in_off, j->in_len - j->in_off);
					if (w > 0)
						j->in_off += (size_t)w;
					if ((w < 0 && errno != EAGAIN && errno != EINTR) || j->in_off == j->in_len)
						close_fd(&j->in); /* EPIPE: the program stopped reading; its exit code says why */
				} else if (fd == j->out) {
					drain(&j->out, &j->obuf, &j->olen, &j->ocap, &j->dropped);
				} else if (fd == j->err) {
					drain(&j->err, &j->ebuf, &j->elen, &j->ecap, &j->dropped);
				} else if (fd == j->pidfd && !j->exited) {
					if (waitpid(j->pid, &j->status, WNOHANG) == j->pid)
						j->exited = true;
				}
			}
		}
		long long now = now_ms();
		for (int i = 0; i < SERVE_MAX_JOBS; i++) {
			struct job *j = jobs[i];
			if (!j)
				continue;
			if (!j->exited && j->pidfd < 0 && waitpid(j->pid, &j->status, WNOHANG) == j->pid)
				j->exited = true;
			/* at the deadline its whole group goes, even when it exited first and left a child holding its outputs */
			if (j->deadline && !j->timed_out && now >= j->deadline) {
				j->timed_out = true;
				kill(-j->pid, SIGKILL);
				if (!j->exited)
					kill(j->pid, SIGKILL);
			}
			/* done once it exited and its outputs ended, or at the deadline once it exited */
			if (j->exited && ((j->out < 0 && j->err < 0) || j->timed_out)) {
				close_fd(&j->out);
				close_fd(&j->err);
				finish_job(i);
			}
		}
	}
}

int main(int argc, char **argv)
{
	/* A reader that went away must show up as EPIPE, not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "attach") == 0)
		return cmd_attach(argc - 2, argv + 2);
	if (strcmp(argv[1], "netconnect") == 0)
		return cmd_netconnect(argc - 2, argv + 2);
	if (strcmp(argv[1], "subpath-mount") == 0)
		return cmd_subpath_mount(argc - 2, argv + 2);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	usage();
}
