/* SPDX-License-Identifier: MIT */
/*
 * vhu-bench-monitor: what vhucheck-monitor costs. The same request/reply
 * round trips run over a direct socketpair and through the monitor (this
 * program plays both the front-end and the back-end), and the messages
 * per second of each are printed with their ratio.
 *
 *   vhu-bench-monitor --monitor build/harness/vhucheck-monitor [-n N] [--record]
 *
 * A third figure, "plain relay", is a child process that only copies bytes:
 * the cost of any proxy in its own process, which the monitor cannot beat.
 *
 * Two workloads: GET_FEATURES and its u64 reply on the main channel;
 * SHMEM_MAP (with a memfd) and SHMEM_UNMAP with their replies on the
 * back-end channel, the monitor's ledger and fd handling in the path.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "proto.h"
#include "target.h"

#define STEP_MS 5000
#define PF ((1ull << PROTO_PF_REPLY_ACK) | (1ull << PROTO_PF_BACKEND_REQ) | \
	    (1ull << PROTO_PF_BACKEND_SEND_FD) | (1ull << PROTO_SHMEM_BIT_DEFAULT))

struct ends {
	struct chan fe, be;             /* main channel: the two sides */
	struct chan fe_back, be_back;   /* back-end channel */
};

static int die(const char *what, int rc)
{
	fprintf(stderr, "vhu-bench-monitor: %s: %s\n", what,
		rc < 0 ? strerror(-rc) : chan_status_name((enum chan_status)rc));
	exit(3);
}

static void tx(struct chan *c, uint32_t req, uint32_t flags, const void *p, size_t n,
	       const int *fds, unsigned nfds)
{
	struct proto_hdr h = { req, PROTO_VERSION | flags, (uint32_t)n };
	int rc = chan_send(c, &h, p, n, fds, nfds, chan_deadline(STEP_MS));

	if (rc != CHAN_OK)
		die("send", rc);
}

static void rx(struct chan *c, struct chan_msg *m, uint32_t req)
{
	int rc = chan_recv(c, m, chan_deadline(STEP_MS));

	if (rc != CHAN_OK)
		die("receive", rc);
	if (m->hdr.request != req)
		die("unexpected request", -EPROTO);
	chan_msg_release(m);
}

/* One request from `from`, its u64 reply from `to`. */
static void round_trip(struct chan *from, struct chan *to, uint32_t req,
		       const void *p, size_t n, const int *fds, unsigned nfds,
		       struct chan_msg *m)
{
	uint64_t zero = 0;

	tx(from, req, PROTO_F_NEED_REPLY, p, n, fds, nfds);
	rx(to, m, req);
	tx(to, req, PROTO_F_REPLY, &zero, 8, NULL, 0);
	rx(from, m, req);
}

static double now_s(void)
{
	return (double)chan_now_ms() / 1000.0;
}

/* Messages per second of n main-channel round trips. */
static double bench_main(struct ends *e, unsigned n, struct chan_msg *m)
{
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++)
		round_trip(&e->fe, &e->be, PROTO_GET_FEATURES, NULL, 0, NULL, 0, m);
	return 2.0 * n / (now_s() - t0);
}

/* Messages per second of n MAP + UNMAP pairs with their replies. */
static double bench_map(struct ends *e, unsigned n, struct chan_msg *m)
{
	struct proto_mmap mm = { .shm_offset = 0x1000, .len = 0x1000,
				 .flags = PROTO_MMAP_F_RW };
	uint8_t map[PROTO_MMAP_SIZE], unmap[PROTO_MMAP_SIZE];
	int fd = memfd_create("vhu-bench", MFD_CLOEXEC);
	double t0;

	if (fd < 0 || ftruncate(fd, 0x1000) < 0)
		die("memfd", -errno);
	proto_mmap_encode(&mm, map, sizeof(map));
	mm.flags = 0;
	proto_mmap_encode(&mm, unmap, sizeof(unmap));
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		round_trip(&e->be_back, &e->fe_back, PROTO_BE_SHMEM_MAP, map,
			   sizeof(map), &fd, 1, m);
		round_trip(&e->be_back, &e->fe_back, PROTO_BE_SHMEM_UNMAP, unmap,
			   sizeof(unmap), NULL, 0, m);
	}
	close(fd);
	return 4.0 * n / (now_s() - t0);
}

/* The negotiation the monitor needs to see SHMEM and the back-end
 * channel; both sides played here. */
static void handshake(struct ends *e, struct chan_msg *m)
{
	struct proto_shmem_config cfg = { .nregions = 1, .memory_sizes = { 0x100000 } };
	uint8_t buf[PROTO_SHMEM_CONFIG_SIZE];
	uint64_t pf = PF;
	int sv[2], rc;

	tx(&e->fe, PROTO_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0);
	rx(&e->be, m, PROTO_GET_PROTOCOL_FEATURES);
	tx(&e->be, PROTO_GET_PROTOCOL_FEATURES, PROTO_F_REPLY, &pf, 8, NULL, 0);
	rx(&e->fe, m, PROTO_GET_PROTOCOL_FEATURES);
	tx(&e->fe, PROTO_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
	rx(&e->be, m, PROTO_SET_PROTOCOL_FEATURES);
	tx(&e->fe, PROTO_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0);
	rx(&e->be, m, PROTO_GET_SHMEM_CONFIG);
	proto_shmem_config_encode(&cfg, buf, sizeof(buf));
	tx(&e->be, PROTO_GET_SHMEM_CONFIG, PROTO_F_REPLY, buf, sizeof(buf), NULL, 0);
	rx(&e->fe, m, PROTO_GET_SHMEM_CONFIG);
	if ((rc = chan_socketpair(sv)) < 0)
		die("socketpair", rc);
	tx(&e->fe, PROTO_SET_BACKEND_REQ_FD, 0, NULL, 0, &sv[1], 1);
	close(sv[1]);
	chan_init(&e->fe_back, sv[0], "backend", PROTO_CHAN_BACKEND);
	rc = chan_recv(&e->be, m, chan_deadline(STEP_MS));
	if (rc != CHAN_OK || m->nfds != 1)
		die("SET_BACKEND_REQ_FD", rc ? rc : -EPROTO);
	chan_init(&e->be_back, chan_msg_take_fd(m, 0), "backend", PROTO_CHAN_BACKEND);
}

static void ends_close(struct ends *e)
{
	chan_close(&e->fe);
	chan_close(&e->be);
	chan_close(&e->fe_back);
	chan_close(&e->be_back);
}

static void direct(struct ends *e, struct chan_msg *m)
{
	int sv[2];

	if (chan_socketpair(sv) < 0)
		die("socketpair", -errno);
	chan_init(&e->fe, sv[0], "main", PROTO_CHAN_MAIN);
	chan_init(&e->be, sv[1], "main", PROTO_CHAN_MAIN);
	handshake(e, m);
}

/* Launches the monitor between a back-end socket we listen on and a
 * front-end socket we connect to. */
static void through(struct ends *e, struct target *t, const char *monitor,
		    const char *dir, bool record, struct chan_msg *m)
{
	char fe_path[256], be_path[256], trace[256], err[256];
	char *argv[] = { (char *)monitor, "--quiet", "--listen", fe_path, "--connect",
			 be_path, "--reply-timeout", "60000", NULL, NULL, NULL };
	int lfd, fd;

	snprintf(fe_path, sizeof(fe_path), "%s/fe.sock", dir);
	snprintf(be_path, sizeof(be_path), "%s/be.sock", dir);
	snprintf(trace, sizeof(trace), "%s/bench.trace", dir);
	if (record) {
		argv[8] = "--record";
		argv[9] = trace;
	}
	if ((lfd = chan_listen(be_path)) < 0)
		die("listen", lfd);
	target_init(t);
	if (target_spawn(t, argv, NULL, 0, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhu-bench-monitor: %s\n", err);
		exit(3);
	}
	if ((fd = chan_accept(lfd, chan_deadline(STEP_MS))) < 0)
		die("accept from the monitor", fd);
	close(lfd);
	chan_init(&e->be, fd, "main", PROTO_CHAN_MAIN);
	if ((fd = chan_connect(fe_path, chan_deadline(STEP_MS))) < 0)
		die("connect to the monitor", fd);
	chan_init(&e->fe, fd, "main", PROTO_CHAN_MAIN);
	handshake(e, m);
}

/* The floor for any relay in its own process: a child that copies bytes
 * between two socketpairs with poll/read/write and judges nothing (the
 * main-channel workload carries no fds, so bytes are enough). */
static void relay_child(int a, int b)
{
	struct pollfd pf[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
	char buf[8192];

	for (;;) {
		if (poll(pf, 2, STEP_MS) <= 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (!(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			k = read(pf[i].fd, buf, sizeof(buf));
			if (k <= 0 || write(pf[!i].fd, buf, (size_t)k) != k)
				_exit(0);
		}
	}
}

static double bench_plain_relay(unsigned n, struct chan_msg *m)
{
	int fe[2], be[2];
	struct ends e;
	pid_t pid;
	double rate;

	if (chan_socketpair(fe) < 0 || chan_socketpair(be) < 0)
		die("socketpair", -errno);
	pid = fork();
	if (pid == 0) {
		close(fe[0]);
		close(be[0]);
		relay_child(fe[1], be[1]);
	}
	close(fe[1]);
	close(be[1]);
	chan_init(&e.fe, fe[0], "main", PROTO_CHAN_MAIN);
	chan_init(&e.be, be[0], "main", PROTO_CHAN_MAIN);
	chan_init(&e.fe_back, -1, "backend", PROTO_CHAN_BACKEND);
	chan_init(&e.be_back, -1, "backend", PROTO_CHAN_BACKEND);
	rate = bench_main(&e, n, m);
	ends_close(&e);
	waitpid(pid, NULL, 0);
	return rate;
}

/* relay_rate < 0: not measured for that workload. */
static void report(const char *what, double direct_rate, double relay_rate,
		   double mon_rate)
{
	char relay[32] = "     n/a";

	if (relay_rate >= 0)
		snprintf(relay, sizeof(relay), "%8.0f", relay_rate);
	printf("%-34s direct %8.0f   plain relay %s   monitor %8.0f msg/s   "
	       "direct/monitor %.2f\n", what, direct_rate, relay, mon_rate,
	       direct_rate / mon_rate);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "monitor", 1, 0, 'm' }, { "n", 1, 0, 'n' },
					    { "record", 0, 0, 'r' }, { 0, 0, 0, 0 } };
	const char *monitor = NULL;
	unsigned n = 5000;
	bool record = false;
	char dir[] = "/tmp/vhu-bench-monitor.XXXXXX", trace[64];
	struct chan_msg *m = malloc(sizeof(*m));
	struct ends d, t;
	struct target mon;
	double dm, dp, rm, tm, tp;
	int c;

	while ((c = getopt_long(argc, argv, "m:n:r", lo, NULL)) != -1) {
		if (c == 'm')
			monitor = optarg;
		else if (c == 'n')
			n = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 'r')
			record = true;
		else
			return 2;
	}
	if (!monitor || !n || !m || !mkdtemp(dir)) {
		fprintf(stderr, "usage: vhu-bench-monitor --monitor PATH [-n N] [--record]\n");
		return 2;
	}
	target_setup();
	direct(&d, m);
	dm = bench_main(&d, n, m);
	dp = bench_map(&d, n / 2, m);
	ends_close(&d);
	rm = bench_plain_relay(n, m);
	through(&t, &mon, monitor, dir, record, m);
	tm = bench_main(&t, n, m);
	tp = bench_map(&t, n / 2, m);
	ends_close(&t);
	target_wait(&mon, chan_deadline(STEP_MS));
	target_stop(&mon);
	printf("vhu-bench-monitor: %u round trips each%s\n", n,
	       record ? ", monitor recording a trace" : "");
	report("main: GET_FEATURES + reply", dm, rm, tm);
	report("backend: MAP(fd)/UNMAP + replies", dp, -1.0, tp);
	snprintf(trace, sizeof(trace), "%s/bench.trace", dir);
	unlink(trace); /* there only with --record */
	rmdir(dir);
	free(m);
	return 0;
}
