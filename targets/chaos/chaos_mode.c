/* SPDX-License-Identifier: MIT */
#include "chaos_mode.h"

#include <string.h>

struct mode_info {
	const char *name;
	enum chaos_class cls;
	const char *help;
};

static const struct mode_info modes[CHAOS_MODE_COUNT] = {
	[CHAOS_POLITE] = { "polite", CHAOS_CLASS_NONE,
			   "behave (the control run)" },
	[CHAOS_DROP] = { "drop", CHAOS_CLASS_WIRE,
			 "drop about half of the messages" },
	[CHAOS_DELAY] = { "delay", CHAOS_CLASS_WIRE,
			  "hold messages 0.2..3 s (blocking, past deadlines)" },
	[CHAOS_DUP] = { "dup", CHAOS_CLASS_WIRE, "send every message twice" },
	[CHAOS_TRUNCATE] = { "truncate", CHAOS_CLASS_WIRE,
			     "cut one message short and go on" },
	[CHAOS_CLOSE_MID] = { "close-mid", CHAOS_CLASS_WIRE,
			      "half a message, then close every channel" },
	[CHAOS_GARBAGE] = { "garbage", CHAOS_CLASS_WIRE,
			    "random bytes in place of messages" },
	[CHAOS_ABSURD_SIZE] = { "absurd-size", CHAOS_CLASS_WIRE,
				"headers claiming 0xffffffff bytes and co" },
	[CHAOS_MANY_FDS] = { "many-fds", CHAOS_CLASS_WIRE,
			     "8 or 16 fds on messages" },
	[CHAOS_FDS_EVERY] = { "fds-every", CHAOS_CLASS_WIRE,
			      "an extra fd on every message" },
	[CHAOS_WRONG_CHANNEL] = { "wrong-channel", CHAOS_CLASS_WIRE,
				  "messages on the other channel" },
	[CHAOS_TRICKLE] = { "trickle", CHAOS_CLASS_WIRE,
			    "messages in slices of 1..5 bytes, 10..60 ms apart" },
	[CHAOS_FLOOD] = { "flood", CHAOS_CLASS_FLOOD,
			  "requests as fast as the socket takes them, "
			  "nothing read" },
	[CHAOS_SEGV] = { "segv", CHAOS_CLASS_PROCESS, "raise(SIGSEGV)" },
	[CHAOS_ABORT] = { "abort", CHAOS_CLASS_PROCESS, "abort()" },
	[CHAOS_HANG] = { "hang", CHAOS_CLASS_PROCESS,
			 "ignore SIGTERM and sleep forever, never polling" },
	[CHAOS_STOP] = { "stop", CHAOS_CLASS_PROCESS, "raise(SIGSTOP)" },
	[CHAOS_EXIT] = { "exit", CHAOS_CLASS_PROCESS,
			 "_exit() with a seeded code" },
	[CHAOS_FORK_GROUP] = { "fork-group", CHAOS_CLASS_PROCESS,
			       "children in our process group keep the "
			       "sockets and ignore SIGTERM" },
	[CHAOS_FORK_ESCAPE] = { "fork-escape", CHAOS_CLASS_PROCESS,
				"a child leaves with setsid(), keeps the "
				"sockets, ends by itself within 2 s" },
	[CHAOS_PGID_ESCAPE] = { "pgid-escape", CHAOS_CLASS_PROCESS,
				"join the parent's process group, ignore "
				"SIGTERM, sleep" },
	[CHAOS_SPEW] = { "spew", CHAOS_CLASS_PROCESS,
			 "16 MiB on stderr at once, then go on" },
	[CHAOS_EOF_SEGV] = { "eof-segv", CHAOS_CLASS_EOF,
			     "raise(SIGSEGV) when the main channel ends" },
	[CHAOS_CTL_SILENT] = { "ctl-silent", CHAOS_CLASS_CONTROL,
			       "never answer on the control channel" },
	[CHAOS_CTL_GARBAGE] = { "ctl-garbage", CHAOS_CLASS_CONTROL,
				"control answers that are neither ok nor err, "
				"up to 1 MiB without a newline" },
};

const char *chaos_mode_name(enum chaos_mode m)
{
	return (unsigned)m < CHAOS_MODE_COUNT ? modes[m].name : NULL;
}

const char *chaos_mode_help(enum chaos_mode m)
{
	return (unsigned)m < CHAOS_MODE_COUNT ? modes[m].help : NULL;
}

enum chaos_class chaos_mode_class(enum chaos_mode m)
{
	return (unsigned)m < CHAOS_MODE_COUNT ? modes[m].cls : CHAOS_CLASS_NONE;
}

int chaos_mode_by_name(const char *name)
{
	if (strcmp(name, "random") == 0)
		return CHAOS_MODE_RANDOM;
	if (strcmp(name, "cycle") == 0)
		return CHAOS_MODE_CYCLE;
	for (unsigned i = 0; i < CHAOS_MODE_COUNT; i++)
		if (strcmp(name, modes[i].name) == 0)
			return (int)i;
	return -1;
}

enum chaos_mode chaos_mode_cycle(uint64_t n)
{
	return (enum chaos_mode)(1 + n % (CHAOS_MODE_COUNT - 1));
}

/* splitmix64: small, good enough, and the same on every platform. */
uint64_t chaos_rand(struct chaos_plan *p)
{
	uint64_t z = (p->rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

unsigned chaos_range(struct chaos_plan *p, unsigned lo, unsigned hi)
{
	if (hi <= lo)
		return lo;
	return lo + (unsigned)(chaos_rand(p) % ((uint64_t)hi - lo + 1));
}

bool chaos_one_in(struct chaos_plan *p, unsigned n)
{
	return n <= 1 || chaos_rand(p) % n == 0;
}

void chaos_plan_init(struct chaos_plan *p, enum chaos_mode mode,
		     uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	p->seed = seed;
	p->rng = seed;
	if ((unsigned)mode >= CHAOS_MODE_COUNT)
		mode = (enum chaos_mode)(1 + chaos_rand(p) % (CHAOS_MODE_COUNT - 1));
	p->mode = mode;
	p->trigger = chaos_range(p, 0, 9);
}

bool chaos_plan_tick(struct chaos_plan *p)
{
	bool on = p->events >= p->trigger;

	if (p->events < UINT32_MAX)
		p->events++;
	return on && p->mode != CHAOS_POLITE;
}

bool chaos_plan_active(const struct chaos_plan *p)
{
	return p->mode != CHAOS_POLITE && p->events > p->trigger;
}
