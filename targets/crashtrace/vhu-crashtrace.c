/* SPDX-License-Identifier: MIT */
/*
 * vhu-crashtrace: a preloaded library (LD_PRELOAD) that makes a crashing
 * target leave its own backtrace on stderr, for `vhucheck run
 * --backtrace` (docs/runner.md, "Crash signatures").
 *
 * Why in-process and not gdb: a target run under gdb is not the process
 * the harness launched (its pid, its /proc, its exit status are gdb's),
 * and gdb attaching at the crash takes seconds, during which the harness
 * may stop the target by its own deadline: the verdict would change with
 * the option. Unwinding in the handler takes microseconds and the process
 * still dies by the same signal, so the verdict is the one without it.
 *
 * On SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL and SIGTRAP, when the
 * program has not installed a handler of its own, it writes
 *
 *   vhucheck-crashtrace: begin signal=11 pid=123 tid=124 pc=0x5555...
 *   vhucheck-crashtrace: frame 0x5555... base=0x5555... /path/to/module
 *   ...
 *   vhucheck-crashtrace: end
 *
 * and raises the signal again with its default action. Frames are raw
 * return addresses with the load base of their module; the runner
 * symbolises them (runner/vhucheck/signature.py), so nothing here needs
 * the debug information.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define CRASHTRACE_MAX_FRAMES 64

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP };

/* Async-signal-safe output: no stdio in a handler. */
static void put(const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void put_hex(uintptr_t v)
{
	char buf[2 + 2 * sizeof(v) + 1], *p = buf + sizeof(buf) - 1;

	*p = '\0';
	do {
		*--p = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	put(p);
}

static void put_dec(long v)
{
	char buf[24], *p = buf + sizeof(buf) - 1;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(p);
}

/* The interrupted instruction: the one frame whose address is exact
 * (every other frame is a return address, one past its call). */
static uintptr_t fault_pc(const void *uctx)
{
	const ucontext_t *uc = uctx;

	if (!uc)
		return 0;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__i386__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_EIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	return 0;
#endif
}

static void put_frame(void *addr)
{
	Dl_info info;
	char exe[512];
	ssize_t n;

	put("vhucheck-crashtrace: frame ");
	put_hex((uintptr_t)addr);
	if (dladdr(addr, &info) && info.dli_fname && info.dli_fname[0]) {
		put(" base=");
		put_hex((uintptr_t)info.dli_fbase);
		put(" ");
		/* The main program's name is as it was started (maybe
		 * relative to a cwd the runner does not know). */
		n = info.dli_fname[0] == '/' ? -1 :
		    readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			put(exe);
		} else {
			put(info.dli_fname);
		}
	}
	put("\n");
}

static void on_crash(int sig, siginfo_t *si, void *uctx)
{
	void *frames[CRASHTRACE_MAX_FRAMES];
	int n = backtrace(frames, CRASHTRACE_MAX_FRAMES);

	(void)si;
	put("vhucheck-crashtrace: begin signal=");
	put_dec(sig);
	put(" pid=");
	put_dec((long)getpid());
	put(" tid=");
	put_dec((long)syscall(SYS_gettid));
	put(" pc=");
	put_hex(fault_pc(uctx));
	put("\n");
	for (int i = 0; i < n; i++)
		put_frame(frames[i]);
	put("vhucheck-crashtrace: end\n");
	/* SA_RESETHAND made the action the default one again and SA_NODEFER
	 * left the signal unblocked: this ends the process by it, also when
	 * it was sent by kill() and returning would not repeat it. */
	raise(sig);
}

__attribute__((constructor)) static void crashtrace_install(void)
{
	void *warm[1];
	struct sigaction sa, old;

	/* The first backtrace() loads the unwinder (libgcc_s): do it now,
	 * not in a handler where loading a library is not safe. */
	(void)backtrace(warm, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
		/* A program's own handler, or a signal it ignores, stays. */
		if (sigaction(crash_signals[i], NULL, &old) == 0 &&
		    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			sigaction(crash_signals[i], &sa, NULL);
	}
}
