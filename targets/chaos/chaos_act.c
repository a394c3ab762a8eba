/* SPDX-License-Identifier: MIT */
#include "chaos_act.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void chaos_act_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void say(const struct chaos_log *log, const char *msg)
{
	if (log && log->fn)
		log->fn(log->opaque, msg);
}

/* The default action of sig, even under a sanitizer that installed a
 * handler: a crash here is the test, not a finding. */
static void crash_with(int sig)
{
	struct rlimit no_core = { 0, 0 };
	sigset_t set;

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (sig == SIGABRT)
		abort();
	raise(sig);
	_exit(99); /* not reached */
}

static void ignore_polite_signals(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

/* Sleeps until SIGKILL or the alarm, never looking at any fd. */
static __attribute__((noreturn)) void linger(unsigned alarm_s)
{
	signal(SIGALRM, SIG_DFL);
	alarm(alarm_s);
	for (;;)
		chaos_act_sleep_ms(1000);
}

/* Two children and a grandchild, all in our process group, holding
 * every fd we hold and deaf to SIGTERM. */
static void fork_group(const struct chaos_log *log)
{
	for (int i = 0; i < 2; i++) {
		pid_t c = fork();

		if (c < 0) {
			say(log, "fork-group: fork failed");
			return;
		}
		if (c > 0)
			continue;
		ignore_polite_signals();
		if (i == 1 && fork() < 0)
			_exit(1);
		linger(CHAOS_ACT_SAFETY_S);
	}
}

/* A child that leaves the group and the session with our fds. The
 * harness cannot see it; it must end by itself. */
static void fork_escape(const struct chaos_log *log)
{
	pid_t c = fork();

	if (c < 0) {
		say(log, "fork-escape: fork failed");
		return;
	}
	if (c > 0)
		return;
	setsid();
	ignore_polite_signals();
	linger(CHAOS_ACT_ESCAPE_S);
}

/* Out of the process group the harness made for us, into our parent's:
 * a kill of our group no longer reaches us; only our pid does. */
static void pgid_escape(const struct chaos_log *log)
{
	if (setpgid(0, getpgid(getppid())) < 0)
		say(log, "pgid-escape: setpgid failed");
	ignore_polite_signals();
	linger(CHAOS_ACT_SAFETY_S);
}

/* A target with a chatty debug log: the harness must not read it all
 * into memory, nor wait for it. */
static void spew(void)
{
	char line[4096];

	memset(line, 'z', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	for (unsigned i = 0; i < CHAOS_ACT_SPEW_BYTES / sizeof(line); i++)
		if (write(STDERR_FILENO, line, sizeof(line)) < 0 && errno != EINTR)
			break;
}

static const int exit_codes[] = { 0, 1, 2, 3, 77, 255 };

void chaos_act_run(struct chaos_plan *p, const struct chaos_log *log)
{
	char msg[128];

	if (chaos_mode_class(p->mode) != CHAOS_CLASS_PROCESS || p->done)
		return;
	p->done = true;
	snprintf(msg, sizeof(msg), "act %s at event %u",
		 chaos_mode_name(p->mode), p->events ? p->events - 1 : 0);
	say(log, msg);
	switch (p->mode) {
	case CHAOS_SEGV: crash_with(SIGSEGV); break;
	case CHAOS_ABORT: crash_with(SIGABRT); break;
	case CHAOS_HANG:
		ignore_polite_signals();
		linger(CHAOS_ACT_SAFETY_S);
		break;
	case CHAOS_STOP: raise(SIGSTOP); break;
	case CHAOS_EXIT:
		_exit(exit_codes[chaos_rand(p) %
				 (sizeof(exit_codes) / sizeof(exit_codes[0]))]);
		break;
	case CHAOS_FORK_GROUP: fork_group(log); break;
	case CHAOS_FORK_ESCAPE: fork_escape(log); break;
	case CHAOS_PGID_ESCAPE: pgid_escape(log); break;
	case CHAOS_SPEW: spew(); break;
	default: break;
	}
}

void chaos_act_on_eof(struct chaos_plan *p, const struct chaos_log *log)
{
	if (p->mode != CHAOS_EOF_SEGV)
		return;
	say(log, "act eof-segv at the end of the main channel");
	crash_with(SIGSEGV);
}
