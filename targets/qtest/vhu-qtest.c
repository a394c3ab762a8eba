/* SPDX-License-Identifier: MIT */
/* vhu-qtest: run QEMU as a vhost-user front-end under the qtest
 * accelerator and play the guest driver that starts its device.
 *
 *     vhu-qtest [options] -- QEMU [QEMU-ARGS...]
 *
 * The process execs QEMU (so the pid the harness launched IS QEMU, and the
 * /proc oracles look at the right process); a forked child plays the guest
 * through QEMU's qtest protocol (qdrv). Appended to QEMU's arguments:
 * -qtest unix:SOCK -accel qtest and, for stop/cont/quit, -qmp
 * unix:SOCK,server=on,wait=off. Exit: 0 when QEMU or the controller goes
 * away, 1 when the device cannot be started without a control channel, 2
 * on a usage error. docs/targets.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qdrv.h"

#define MAX_QEMU_ARGS 256

static const char USAGE[] =
	"usage: vhu-qtest [options] -- QEMU [QEMU-ARGS...]\n"
	"\n"
	"QEMU as a vhost-user front-end, its device started by a qtest guest driver.\n"
	"\n"
	"  --control-fd=FD        vhucheck control channel (inherited fd)\n"
	"  --start=auto|control|never\n"
	"                         when to bring the device to DRIVER_OK (default:\n"
	"                         'control' with --control-fd, else 'auto')\n"
	"  --device-id=ID         PCI device id of the function to drive (default:\n"
	"                         the first virtio function)\n"
	"  --slot=N               PCI slot of the function to drive\n"
	"  --features=BITS        virtio feature bits to accept besides VERSION_1\n"
	"  --ring-base=ADDR       guest-physical address of the first queue\n"
	"                         (default 0x200000)\n"
	"  --op-timeout=S         seconds to wait for one qtest/QMP answer (default 5)\n"
	"  --connect-timeout=S    seconds for QEMU to start and connect (default 20)\n"
	"  --no-qmp               no QMP socket (no stop/cont)\n"
	"  --shm-bar=map|unmapped 'map' (default, as a guest kernel does): the BAR of\n"
	"                         the shared memory regions gets an address;\n"
	"                         'unmapped': it stays at 0. Default from\n"
	"                         $VHU_QTEST_SHM_BAR\n"
	"  --qemu-env=VAR         take the QEMU binary from this environment variable\n"
	"                         (it must be set); it replaces the first word after --\n"
	"  --accel=NAME           QEMU accelerator (default qtest; 'tcg' for builds\n"
	"                         without it, e.g. Debian's: the vCPU then runs a\n"
	"                         one-instruction firmware that halts it)\n";

struct opts {
	struct qdrv_opts drv;
	long control_fd;        /* -1: none */
	enum { START_AUTO, START_CONTROL, START_NEVER } start;
	int op_timeout_ms, connect_timeout_ms;
	bool no_qmp;
	const char *accel;
	const char *qemu_binary;        /* from --qemu-env, else NULL */
	char **qemu;            /* QEMU's argv as given after -- */
	int nqemu;
};

struct paths {
	/* a unix socket path is at most 108 bytes: the dir is kept short */
	char dir[160], qtest[192], qmp[192], bios[192];
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "usage: vhu-qtest [options] -- QEMU [QEMU-ARGS...]\nvhu-qtest: error: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static bool number(const char *text, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(text, &end, 0);
	return *text && !*end && !errno && text[0] != '-';
}

static bool seconds(const char *text, int *ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(text, &end);
	if (!*text || *end || errno || !(s > 0) || s > 86400)
		return false;
	*ms = (int)(s * 1000.0);
	return true;
}

/* One option; 0 fine, else the exit status of a usage error. */
static int option(struct opts *o, int c, const char *arg)
{
	unsigned long long v;

	switch (c) {
	case 'c':
		if (!number(arg, &v) || v > INT_MAX)
			return usage_error("argument --control-fd: invalid int value: '%s'", arg);
		o->control_fd = (long)v;
		return 0;
	case 's':
		if (strcmp(arg, "auto") && strcmp(arg, "control") && strcmp(arg, "never"))
			return usage_error("argument --start: invalid choice: '%s' (choose from "
					   "'auto', 'control', 'never')", arg);
		o->start = arg[0] == 'a' ? START_AUTO : arg[0] == 'c' ? START_CONTROL : START_NEVER;
		return 0;
	case 'd':
	case 'S':
		if (!number(arg, &v) || v > 0xFFFF)
			return usage_error("invalid number: '%s'", arg);
		*(c == 'd' ? &o->drv.device_id : &o->drv.slot) = (long)v;
		return 0;
	case 'f':
	case 'r':
		if (!number(arg, &v))
			return usage_error("invalid number: '%s'", arg);
		*(c == 'f' ? &o->drv.features : &o->drv.ring_base) = v;
		return 0;
	case 'o':
	case 'C':
		if (!seconds(arg, c == 'o' ? &o->op_timeout_ms : &o->connect_timeout_ms))
			return usage_error("invalid number of seconds: '%s'", arg);
		return 0;
	case 'b':
		if (strcmp(arg, "map") && strcmp(arg, "unmapped"))
			return usage_error("argument --shm-bar: invalid choice: '%s' (choose "
					   "from 'map', 'unmapped')", arg);
		o->drv.shm_unmapped = arg[0] == 'u';
		return 0;
	case 'e': {
		const char *bin = getenv(arg);

		if (!bin || !*bin)
			return usage_error("--qemu-env %s: set it to the QEMU binary to test", arg);
		o->qemu_binary = bin;
		return 0;
	}
	}
	return 2;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "control-fd", required_argument, NULL, 'c' },
		{ "start", required_argument, NULL, 's' },
		{ "device-id", required_argument, NULL, 'd' },
		{ "slot", required_argument, NULL, 'S' },
		{ "features", required_argument, NULL, 'f' },
		{ "ring-base", required_argument, NULL, 'r' },
		{ "op-timeout", required_argument, NULL, 'o' },
		{ "connect-timeout", required_argument, NULL, 'C' },
		{ "no-qmp", no_argument, NULL, 'n' },
		{ "shm-bar", required_argument, NULL, 'b' },
		{ "qemu-env", required_argument, NULL, 'e' },
		{ "accel", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bar = getenv("VHU_QTEST_SHM_BAR");
	bool start_given = false;
	int c, rc;

	*o = (struct opts){ .drv = { .device_id = -1, .slot = -1, .ring_base = 0x200000 },
			    .control_fd = -1, .op_timeout_ms = 5000,
			    .connect_timeout_ms = 20000, .accel = "qtest" };
	if (bar && *bar && (rc = option(o, 'b', bar)) != 0)
		return rc;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
		if (c == 'h') {
			fputs(USAGE, stdout);
			exit(0);
		}
		if (c == '?')
			return usage_error("unrecognized or incomplete option: %s",
					   argv[optind - 1]);
		if (c == 'n')
			o->no_qmp = true;
		else if (c == 'a')
			o->accel = optarg;
		else if ((rc = option(o, c, optarg)) != 0)
			return rc;
		start_given |= c == 's';
	}
	o->qemu = argv + optind;
	o->nqemu = argc - optind;
	if (o->nqemu == 0)
		return usage_error("no QEMU command after --%s", "");
	if (o->nqemu + 16 > MAX_QEMU_ARGS)
		return usage_error("more than %s QEMU arguments", "240");
	if (!start_given)
		o->start = o->control_fd >= 0 ? START_CONTROL : START_AUTO;
	if (o->start == START_CONTROL && o->control_fd < 0)
		return usage_error("--start=control needs --control-fd%s", "");
	return 0;
}

/* A 64 KiB BIOS image whose reset vector is `cli; hlt; jmp .-1`: with a
 * real accelerator the vCPU stops at once, and no firmware touches the
 * PCI devices the driver owns. */
static bool halt_firmware(const char *path)
{
	const size_t size = 0x10000;
	unsigned char *image = calloc(1, size);
	int fd = image ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
	bool ok;

	if (fd < 0) {
		free(image);
		return false;
	}
	memcpy(image + 0xFFF0, "\xfa\xf4\xeb\xfd", 4);
	ok = write(fd, image, size) == (ssize_t)size;
	free(image);
	return close(fd) == 0 && ok;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void remove_paths(const struct paths *p)
{
	unlink(p->qtest);
	unlink(p->qmp);
	unlink(p->bios);
	rmdir(p->dir);
}

/* QEMU connects to our qtest socket once its machine is being set up. */
static int accept_qemu(int listener, int timeout_ms)
{
	struct pollfd p = { .fd = listener, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	return accept4(listener, NULL, NULL, SOCK_CLOEXEC);
}

/* The guest, in the forked child: connect, probe, then serve. */
static int drive(const struct opts *o, struct qdrv *d, int listener, const struct paths *p,
		 char *why, size_t cap)
{
	int fd = accept_qemu(listener, o->connect_timeout_ms);

	close(listener);
	if (fd < 0) {
		snprintf(why, cap, "QEMU did not connect to the qtest socket within %.1f s",
			 o->connect_timeout_ms / 1000.0);
		return -1;
	}
	qtio_init(d->q, fd, o->op_timeout_ms);
	/* The first answer comes once QEMU's machine is up (devices realized,
	 * main loop running): its vhost-user handshake is behind us then. */
	qtio_cmd(d->q, NULL, "endianness");
	if (!qtio_flush_within(d->q, o->connect_timeout_ms)) {
		snprintf(why, cap, "%s", d->q->err);
		return -1;
	}
	if (!o->no_qmp) {
		if (!qmp_connect(d->qmp, p->qmp, o->op_timeout_ms, why, cap))
			return -1;
	} else {
		d->qmp = NULL;
	}
	remove_paths(p);
	if (!qdrv_probe(d, why, cap))
		return -1;
	if (o->start == START_AUTO && !qdrv_start(d, why, cap))
		return -1;
	if (o->control_fd >= 0)
		return qdrv_serve(d, (int)o->control_fd);
	return qdrv_idle(d);
}

static void child(const struct opts *o, int listener, const struct paths *p, pid_t parent)
{
	struct qtio q;
	struct qmp m = { .fd = -1 };
	struct qdrv d = { .o = &o->drv, .q = &q, .qmp = &m, .tmpdir = p->dir };
	char why[QTIO_WHY];
	int rc;

	/* die with QEMU, our parent after its exec */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);
	qtio_init(&q, -1, o->op_timeout_ms);
	q.broken = true;
	rc = drive(o, &d, listener, p, why, sizeof(why));
	if (rc < 0) {
		qdrv_log("%s", why);
		rc = 1;
		if (o->control_fd >= 0)
			/* stay reachable so the harness reads the reason, not silence */
			rc = qdrv_serve_error(&d, (int)o->control_fd, why);
	}
	remove_paths(p);
	_exit(rc);
}

static int make_paths(struct paths *p)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp || strlen(tmp) > 80)
		tmp = "/tmp";
	snprintf(p->dir, sizeof(p->dir), "%s/vhu-qtest-XXXXXX", tmp);
	if (!mkdtemp(p->dir))
		return -1;
	snprintf(p->qtest, sizeof(p->qtest), "%s/qtest.sock", p->dir);
	snprintf(p->qmp, sizeof(p->qmp), "%s/qmp.sock", p->dir);
	snprintf(p->bios, sizeof(p->bios), "%s/halt.bin", p->dir);
	return 0;
}

int main(int argc, char **argv)
{
	static char arg_qtest[256], arg_qmp[256];
	char *qemu[MAX_QEMU_ARGS];
	struct opts o;
	struct paths p;
	int rc = parse_args(&o, argc, argv), n = 0, listener;
	pid_t parent = getpid(), pid;

	if (rc)
		return rc;
	if (make_paths(&p) != 0 || (listener = listen_unix(p.qtest)) < 0) {
		fprintf(stderr, "vhu-qtest: %s: %s\n", p.dir, strerror(errno));
		return 1;
	}
	snprintf(arg_qtest, sizeof(arg_qtest), "unix:%s", p.qtest);
	snprintf(arg_qmp, sizeof(arg_qmp), "unix:%s,server=on,wait=off", p.qmp);
	for (int i = 0; i < o.nqemu; i++)
		qemu[n++] = o.qemu[i];
	if (o.qemu_binary)
		qemu[0] = (char *)o.qemu_binary;
	qemu[n++] = "-qtest";
	qemu[n++] = arg_qtest;
	qemu[n++] = "-qtest-log";
	qemu[n++] = "/dev/null";
	qemu[n++] = "-accel";
	qemu[n++] = (char *)o.accel;
	if (strcmp(o.accel, "qtest") != 0) {
		if (!halt_firmware(p.bios)) {
			fprintf(stderr, "vhu-qtest: %s: %s\n", p.bios, strerror(errno));
			remove_paths(&p);
			return 1;
		}
		qemu[n++] = "-bios";
		qemu[n++] = p.bios;
	}
	if (!o.no_qmp) {
		qemu[n++] = "-qmp";
		qemu[n++] = arg_qmp;
	}
	qemu[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "vhu-qtest: fork: %s\n", strerror(errno));
		remove_paths(&p);
		return 1;
	}
	if (pid == 0)
		child(&o, listener, &p, parent);
	close(listener);
	if (o.control_fd >= 0)
		close((int)o.control_fd);
	execvp(qemu[0], qemu);
	fprintf(stderr, "vhu-qtest[%ld]: %s: %s\n", (long)getpid(), qemu[0], strerror(errno));
	return 127;
}
