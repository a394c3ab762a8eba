/* SPDX-License-Identifier: MIT */
/*
 * chaos_mode: what vhu-chaos does wrong, and when.
 *
 * A plan is a mode, a seed and a trigger: the event (message sent or
 * received, control line) from which the misbehaviour starts. Everything
 * random comes from the plan's generator, so one seed gives one run,
 * message for message, as long as the harness sends the same things.
 * Pure: no I/O.
 */
#ifndef VHU_CHAOS_MODE_H
#define VHU_CHAOS_MODE_H

#include <stdbool.h>
#include <stdint.h>

enum chaos_mode {
	CHAOS_POLITE = 0,      /* no misbehaviour: the control run */
	/* on the wire, from the trigger on */
	CHAOS_DROP,            /* drop about half of the messages */
	CHAOS_DELAY,           /* hold messages 0.2..3 s, blocking */
	CHAOS_DUP,             /* every message twice */
	CHAOS_TRUNCATE,        /* one message cut short, framing lost */
	CHAOS_CLOSE_MID,       /* half a message, then close every channel */
	CHAOS_GARBAGE,         /* random bytes in place of messages */
	CHAOS_ABSURD_SIZE,     /* headers claiming 0xffffffff bytes & co */
	CHAOS_MANY_FDS,        /* 8 (or 16, beyond the limit) fds attached */
	CHAOS_FDS_EVERY,       /* an extra fd on every message */
	CHAOS_WRONG_CHANNEL,   /* messages on the other channel */
	CHAOS_TRICKLE,         /* messages in slices of 1..5 bytes, slowly */
	CHAOS_FLOOD,           /* requests as fast as the socket takes them */
	/* to the process itself, at the trigger */
	CHAOS_SEGV,            /* raise(SIGSEGV) */
	CHAOS_ABORT,           /* abort() */
	CHAOS_HANG,            /* ignore SIGTERM, sleep forever, never poll */
	CHAOS_STOP,            /* raise(SIGSTOP) */
	CHAOS_EXIT,            /* _exit() with a seeded code */
	CHAOS_FORK_GROUP,      /* children in our group hold the sockets and
				  ignore SIGTERM */
	CHAOS_FORK_ESCAPE,     /* a child setsid()s away with the sockets and
				  ends by itself within 2 s */
	CHAOS_PGID_ESCAPE,     /* we join our parent's process group, ignore
				  SIGTERM and sleep: a group kill misses us */
	CHAOS_SPEW,            /* 16 MiB on stderr at once, then go on */
	CHAOS_EOF_SEGV,        /* raise(SIGSEGV) when the main channel ends:
				  the crash-on-disconnect bug */
	/* on the control channel, from the trigger on */
	CHAOS_CTL_SILENT,      /* never answer */
	CHAOS_CTL_GARBAGE,     /* answers that are neither ok nor err, a
				  line longer than any buffer, NUL bytes */
	CHAOS_MODE_COUNT,
};

/* What part of vhu-chaos carries a mode out. */
enum chaos_class {
	CHAOS_CLASS_NONE = 0,
	CHAOS_CLASS_WIRE,      /* chaos_wire: every message sent */
	CHAOS_CLASS_PROCESS,   /* chaos_act: once, at the trigger */
	CHAOS_CLASS_FLOOD,     /* the personality's flood */
	CHAOS_CLASS_CONTROL,   /* chaos_wire: control answers */
	CHAOS_CLASS_EOF,       /* chaos_act: when the main channel ends */
};

/* Where the parts of vhu-chaos say what they do (main prints it). */
typedef void (*chaos_log_fn)(void *opaque, const char *msg);
struct chaos_log {
	chaos_log_fn fn;
	void *opaque;
};

/* The name of a mode ("close-mid"), or NULL out of range. */
const char *chaos_mode_name(enum chaos_mode m);
/* One line for --help. */
const char *chaos_mode_help(enum chaos_mode m);
enum chaos_class chaos_mode_class(enum chaos_mode m);
/* Not modes, but ways to choose one: from the seed, or in turn. */
#define CHAOS_MODE_RANDOM ((int)CHAOS_MODE_COUNT)
#define CHAOS_MODE_CYCLE ((int)CHAOS_MODE_COUNT + 1)
/* A mode by name, or CHAOS_MODE_RANDOM for "random", CHAOS_MODE_CYCLE
 * for "cycle". -1 when unknown. */
int chaos_mode_by_name(const char *name);
/* The n-th misbehaving mode, in turn (never CHAOS_POLITE). */
enum chaos_mode chaos_mode_cycle(uint64_t n);

struct chaos_plan {
	enum chaos_mode mode;
	uint64_t seed;
	uint64_t rng;          /* generator state */
	unsigned trigger;      /* first event that misbehaves */
	unsigned events;       /* events counted so far */
	bool done;             /* a one-shot misbehaviour happened */
};

/* mode CHAOS_MODE_COUNT picks one of the misbehaving modes from the
 * seed (never CHAOS_POLITE). The trigger is in 0..9; a process act with
 * trigger 0 happens at start-up, before any I/O (chaos_act). */
void chaos_plan_init(struct chaos_plan *p, enum chaos_mode mode,
		     uint64_t seed);
uint64_t chaos_rand(struct chaos_plan *p);
/* Uniform in [lo, hi]. */
unsigned chaos_range(struct chaos_plan *p, unsigned lo, unsigned hi);
/* True one time in n. */
bool chaos_one_in(struct chaos_plan *p, unsigned n);
/* Counts one event. Returns true when the misbehaviour is on: this
 * event is the trigger or comes after it. */
bool chaos_plan_tick(struct chaos_plan *p);
/* Whether the trigger was reached (without counting an event). */
bool chaos_plan_active(const struct chaos_plan *p);

#endif
