/* SPDX-License-Identifier: MIT */
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"

/* ---- command templates ---- */

struct splitter {
	struct target_argv *out;
	size_t len;             /* bytes used in out->buf */
	bool in_word;
	bool overflow;
};

/* Opens a word (possibly empty, as '' or an empty placeholder). */
static void sp_start_word(struct splitter *sp)
{
	if (sp->in_word)
		return;
	if (sp->out->argc == TARGET_MAX_ARGS ||
	    sp->len + 2 >= sizeof(sp->out->buf)) {
		sp->overflow = true;
		return;
	}
	sp->out->argv[sp->out->argc++] = &sp->out->buf[sp->len];
	sp->in_word = true;
}

static void sp_putc(struct splitter *sp, char c)
{
	if (sp->len + 2 >= sizeof(sp->out->buf)) {
		sp->overflow = true;
		return;
	}
	sp_start_word(sp);
	if (sp->in_word)
		sp->out->buf[sp->len++] = c;
}

static void sp_end_word(struct splitter *sp)
{
	if (!sp->in_word || sp->overflow)
		return;
	sp->out->buf[sp->len++] = '\0';
	sp->in_word = false;
}

/* Replaces a placeholder at *p; true (and *p advanced) if there was one. */
static bool sp_placeholder(struct splitter *sp, const char **p,
			   const struct target_subst *s)
{
	const struct {
		const char *name;
		const char *val;
	} ph[] = {
		{ "{fd}", s->fd }, { "{socket}", s->socket },
		{ "{control}", s->control }, { "{shmem_bit}", s->shmem_bit },
	};

	for (size_t i = 0; i < sizeof(ph) / sizeof(ph[0]); i++) {
		size_t n = strlen(ph[i].name);

		if (ph[i].val && strncmp(*p, ph[i].name, n) == 0) {
			sp_start_word(sp);
			for (const char *v = ph[i].val; *v; v++)
				sp_putc(sp, *v);
			*p += n;
			return true;
		}
	}
	return false;
}

int target_split(const char *tmpl, const struct target_subst *s,
		 struct target_argv *out, char *err, size_t errcap)
{
	struct splitter sp = { .out = out };
	char quote = 0;
	const char *p = tmpl;

	out->argc = 0;
	while (*p) {
		char c = *p;

		if (quote != '\'' && c == '{' && sp_placeholder(&sp, &p, s))
			continue;
		p++;
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				sp_putc(&sp, c);
		} else if (quote == '"') {
			if (c == '"')
				quote = 0;
			else if (c == '\\' && (*p == '"' || *p == '\\'))
				sp_putc(&sp, *p++);
			else
				sp_putc(&sp, c);
		} else if (c == ' ' || c == '\t' || c == '\n') {
			sp_end_word(&sp);
		} else if (c == '\'' || c == '"') {
			quote = c;
			sp_start_word(&sp);
		} else if (c == '\\' && *p) {
			sp_putc(&sp, *p++);
		} else {
			sp_putc(&sp, c);
		}
	}
	if (quote) {
		snprintf(err, errcap, "unterminated %c quote in the target command",
			 quote);
		return -EINVAL;
	}
	sp_end_word(&sp);
	if (sp.overflow) {
		snprintf(err, errcap, "target command too long (at most %d words, "
			 "%zu bytes)", TARGET_MAX_ARGS, sizeof(out->buf));
		return -E2BIG;
	}
	if (out->argc == 0) {
		snprintf(err, errcap, "empty target command");
		return -EINVAL;
	}
	out->argv[out->argc] = NULL;
	return 0;
}

bool target_cmd_has(const char *tmpl, const char *placeholder)
{
	return strstr(tmpl, placeholder) != NULL;
}

/* ---- processes ---- */

int target_setup(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

void target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->pidfd = -1;
	t->exit_code = -1;
}

/* Whatever the harness itself inherited without close-on-exec stays
 * out of the target too. */
static void cloexec_from_3(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	for (int fd = 3; fd < 1024; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(char *const argv[], const int *keep, unsigned nkeep,
		       int logfd, int errpipe, pid_t parent)
{
	sigset_t none;
	int devnull, e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(127);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 ||
	    dup2(logfd >= 0 ? logfd : devnull, 1) < 0 ||
	    dup2(logfd >= 0 ? logfd : devnull, 2) < 0)
		goto fail;
	cloexec_from_3();
	for (unsigned i = 0; i < nkeep; i++)
		if (fcntl(keep[i], F_SETFD, 0) < 0)
			goto fail;
	execvp(argv[0], argv);
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* The child's exec report: 0 when it is running the program. */
static int await_exec(int rfd, pid_t pid)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	int e = 0, rc;
	ssize_t n;

	do {
		rc = poll(&pfd, 1, 5000);
	} while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return -ETIMEDOUT;
	n = read(rfd, &e, sizeof(e));
	if (n == 0)
		return 0;
	waitpid(pid, NULL, 0);
	return n == sizeof(e) && e > 0 ? -e : -EIO;
}

int target_spawn(struct target *t, char *const argv[], const int *keep,
		 unsigned nkeep, const char *log_path, char *err,
		 size_t errcap)
{
	int pfd[2], logfd = -1, rc;
	pid_t pid, parent = getpid();

	target_init(t);
	if (log_path) {
		logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
				       O_CLOEXEC, 0644);
		if (logfd < 0) {
			rc = -errno;
			snprintf(err, errcap, "%s: %s", log_path, strerror(-rc));
			return rc;
		}
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errcap, "pipe: %s", strerror(-rc));
		if (logfd >= 0)
			close(logfd);
		return rc;
	}
	pid = fork();
	if (pid == 0)
		child_exec(argv, keep, nkeep, logfd, pfd[1], parent);
	rc = pid < 0 ? -errno : 0;
	close(pfd[1]);
	if (logfd >= 0)
		close(logfd);
	if (pid > 0) {
		setpgid(pid, pid); /* also here: no race with an early kill */
		rc = await_exec(pfd[0], pid);
	}
	close(pfd[0]);
	if (rc < 0) {
		snprintf(err, errcap, "cannot run '%s': %s", argv[0], strerror(-rc));
		if (pid > 0 && rc == -ETIMEDOUT) {
			t->pid = pid;
			target_stop(t);
		}
		target_init(t);
		return rc;
	}
	t->pid = pid;
	t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

static void record_status(struct target *t, int status)
{
	t->ended = true;
	if (WIFEXITED(status)) {
		t->exited = true;
		t->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		t->signal = WTERMSIG(status);
	}
	if (t->pidfd >= 0) {
		close(t->pidfd);
		t->pidfd = -1;
	}
}

int target_poll(struct target *t)
{
	int status;
	pid_t r;

	if (t->ended)
		return 1;
	if (t->pid <= 0)
		return 0;
	do {
		r = waitpid(t->pid, &status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	record_status(t, status);
	return 1;
}

int target_pollfd(const struct target *t)
{
	return t->ended ? -1 : t->pidfd;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* Until the leader has exited (without reaping it, so that its pid keeps
 * naming the group) or the deadline. */
static bool leader_exited(struct target *t, int64_t deadline)
{
	siginfo_t si;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)t->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
			return true; /* already reaped or not ours */
		if (si.si_pid == t->pid)
			return true;
		if (chan_now_ms() >= deadline)
			return false;
		if (t->pidfd >= 0)
			chan_wait_readable(t->pidfd, deadline);
		else
			sleep_ms(1);
	}
}

int target_wait(struct target *t, int64_t deadline)
{
	if (t->pid <= 0)
		return 0;
	if (t->ended)
		return 1;
	if (!leader_exited(t, deadline))
		return 0;
	return target_poll(t) == 1;
}

/* Reaps what is left of the group (our children since we are a
 * subreaper), for up to ms. */
static void reap_group(pid_t pgid, int ms)
{
	int64_t deadline = chan_deadline(ms);

	for (;;) {
		pid_t r = waitpid(-pgid, NULL, WNOHANG);

		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || chan_now_ms() >= deadline)
			return;
		sleep_ms(1);
	}
}

/* sig to the group and to the process itself, which may have left the
 * group (setpgid). The process is our unreaped child, so its pid cannot
 * name another; the pidfd says so to the kernel where there is one. */
static void signal_target(struct target *t, int sig)
{
	kill(-t->pid, sig);
	if (t->ended)
		return;
#ifdef SYS_pidfd_send_signal
	if (t->pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, t->pidfd, sig, NULL, 0) == 0)
		return;
#endif
	kill(t->pid, sig);
}

void target_stop(struct target *t)
{
	bool gone;

	if (t->pid <= 0 || t->stopped)
		return;
	gone = t->ended;
	if (!gone) {
		t->sent_term = true;
		signal_target(t, SIGTERM);
		gone = leader_exited(t, chan_deadline(TARGET_STOP_GRACE_MS));
	}
	if (!gone)
		t->sent_kill = true;
	signal_target(t, SIGKILL);
	/* SIGKILL is prompt unless the process is stuck in the kernel;
	 * still, never wait without a bound. */
	if (!t->ended)
		target_wait(t, chan_deadline(2000));
	reap_group(t->pid, TARGET_STOP_GRACE_MS);
	if (t->pidfd >= 0) {
		close(t->pidfd);
		t->pidfd = -1;
	}
	t->stopped = true;
}

bool target_killed_by_us(const struct target *t)
{
	return t->ended && ((t->signal == SIGTERM && t->sent_term) ||
			    (t->signal == SIGKILL && t->sent_kill));
}

const char *target_signal_name(int sig, char *buf, size_t cap)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGTRAP, "SIGTRAP" }, { SIGABRT, "SIGABRT" },
		{ SIGBUS, "SIGBUS" }, { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" },
		{ SIGUSR1, "SIGUSR1" }, { SIGSEGV, "SIGSEGV" },
		{ SIGUSR2, "SIGUSR2" }, { SIGPIPE, "SIGPIPE" },
		{ SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
		{ SIGSYS, "SIGSYS" }, { SIGXCPU, "SIGXCPU" }, { SIGXFSZ, "SIGXFSZ" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, cap, "SIG%d", sig);
	return buf;
}
