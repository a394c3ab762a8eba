/* SPDX-License-Identifier: MIT */
/*
 * scriptcase: a parsed .vhu case as data: its header, its steps, the
 * names they print as, and the number syntax of the case language.
 *
 * The parser (script), its helpers (scriptctx, scriptstep, scriptgrade)
 * and everything that runs or reads a case share these types; keeping
 * them apart from the parser lets the helpers use them without
 * depending on the parser that depends on them.
 */
#ifndef VHU_SCRIPTCASE_H
#define VHU_SCRIPTCASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdpool.h"
#include "protoval.h"

/* The side the HARNESS plays. A case says the other one, the role of the
 * implementation under test: `target frontend` is SCRIPT_ROLE_BACKEND.
 * What is shown (--target-role, --list-json, results) is always the
 * target's role: script_target_role_name(). */
enum script_role {
	SCRIPT_ROLE_BACKEND = 0,  /* the harness is the back-end */
	SCRIPT_ROLE_FRONTEND = 1, /* the harness is the front-end */
};
const char *script_role_name(enum script_role r);
/* The target's role against a harness playing r: "frontend" for
 * SCRIPT_ROLE_BACKEND. */
const char *script_target_role_name(enum script_role r);

enum script_grade { SCRIPT_MUST = 0, SCRIPT_SHOULD = 1, SCRIPT_INFO = 2 };
const char *script_grade_name(enum script_grade g); /* "MUST", ... */

/* `refusal VERDICT`: the case's configuration is one the spec lets the
 * target refuse; a clean refusal (a normal exit or the connection closed
 * during the first handshake, before the device started) gets VERDICT. */
enum script_refusal {
	SCRIPT_REFUSAL_NONE = 0,        /* a refusal fails like anything else */
	SCRIPT_REFUSAL_PASS,
	SCRIPT_REFUSAL_NON_STRICT,
	SCRIPT_REFUSAL_INFO,
};
const char *script_refusal_name(enum script_refusal r); /* "PASS", ... */

/* Finding codes: the validator's (enum proto_finding_code), and from
 * 1000 on the harness's own observations. */
#define SCRIPT_FIND_UNSOLICITED_REPLY 1000 /* a reply nobody asked for */
/* The name of a finding code of either kind, "UNKNOWN" for others. */
const char *script_finding_name(int code);

/* Channel of a step; the values are those of enum proto_chan. */
enum script_chan { SCRIPT_MAIN = 0, SCRIPT_BACKEND = 1 };
const char *script_chan_name(enum script_chan c); /* "main", "backend" */

enum script_op {
	SCRIPT_FD,
	SCRIPT_SLEEP,
	SCRIPT_REPEAT,
	SCRIPT_END,
	SCRIPT_CONTROL,
	SCRIPT_HANDSHAKE,
	SCRIPT_SEND,
	SCRIPT_REPLY,
	SCRIPT_CLOSE_BACKEND,
	SCRIPT_MARK,
	SCRIPT_HOLD,
	SCRIPT_RELEASE,
	/* graded: expectations and checks */
	SCRIPT_EXPECT_REPLY,
	SCRIPT_EXPECT_NO_REPLY,
	SCRIPT_EXPECT_MSG,
	SCRIPT_EXPECT_NO_MSG,
	SCRIPT_EXPECT_EOF,
	SCRIPT_EXPECT_ORDER,
	SCRIPT_EXPECT_SHMEM_CONFIG,
	SCRIPT_CHECK_ALIVE,
	SCRIPT_CHECK_MAPPED,
	SCRIPT_CHECK_UNMAPPED,
	SCRIPT_CHECK_FDS,
	SCRIPT_CHECK_BASELINE,
	SCRIPT_CHECK_FINDINGS_NONE,
	SCRIPT_CHECK_FINDING,
	SCRIPT_CHECK_LEDGER,
	SCRIPT_CHECK_MEMTABLE,
	SCRIPT_EXPECT_RESULT,     /* the outcome a v2 target reported */
};
/* "expect reply", "check mapped", ... */
const char *script_op_name(enum script_op op);
bool script_op_graded(enum script_op op);

/* fd= on send accepts more than PROTO_MAX_FDS names, to test that limit. */
#define SCRIPT_MAX_SEND_FDS 16u
#define SCRIPT_MAX_REGIONS 256u

struct script_fd {
	char name[FDPOOL_NAME_MAX];
	enum fdpool_kind kind;
	uint64_t size;
};

enum script_ctl_expect { SCRIPT_CTL_OK = 0, SCRIPT_CTL_ERR = 1 };
struct script_control {
	char line[256];         /* the command line, without expect= */
	enum script_ctl_expect expect;
};

enum script_shmem { SCRIPT_SHMEM_ON = 0, SCRIPT_SHMEM_OFF, SCRIPT_SHMEM_OFFER_ONLY };

/* Protocol features a handshake can turn off (bits of proto_pfeat). */
struct script_handshake {
	enum script_shmem shmem;
	bool has_shmem_bit;
	unsigned shmem_bit;
	uint64_t pf_off;        /* protocol feature bits turned off */
	bool start;
	unsigned nsizes;        /* regions=: sizes in step->list */
	bool has_regions;
	bool has_nregions;
	uint32_t nregions;
	uint64_t mem;           /* frontend: memory table size */
	bool has_max_slots;     /* backend: the GET_MAX_MEM_SLOTS answer */
	uint64_t max_slots;
	/* backend: how the GET_SHMEM_CONFIG reply deviates (robustness) */
	bool has_config_size, has_config_request, has_config_flags,
	     has_config_padding;
	uint32_t config_size, config_request, config_flags, config_padding;
};

enum script_send_kind {
	SCRIPT_SEND_MAP,
	SCRIPT_SEND_UNMAP,
	SCRIPT_SEND_NAMED,
	SCRIPT_SEND_RAW,
};

struct script_send {
	enum script_send_kind kind;
	uint32_t request;
	/* map/unmap fields */
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset, shm_offset, len, flags;
	bool has_hdr_flags, has_size, has_truncate, has_u64, has_payload;
	uint32_t hdr_flags, size, truncate;
	uint64_t u64;
	bool need_reply;
	unsigned nfds;
	char fds[SCRIPT_MAX_SEND_FDS][FDPOOL_NAME_MAX];
};

struct script_reply {
	bool has_flags, has_size, has_payload, has_fd, has_split;
	uint64_t value;
	uint32_t flags, size;
	uint32_t split, pause_ms; /* first `split` bytes, `pause_ms`, the rest */
	char fd[FDPOOL_NAME_MAX];
};

enum script_value { SCRIPT_VALUE_ANY = 0, SCRIPT_VALUE_EQ, SCRIPT_VALUE_NONZERO };
struct script_expect_reply {
	enum script_value value_kind;
	uint64_t value;
	bool has_flags, has_size;
	uint32_t flags, size;
};

#define SCRIPT_ORDER_MAX_NAMES 4u
struct script_expect_msg {
	bool has_request;       /* expect no-msg: NAME is optional */
	uint32_t request;       /* the first of req[] */
	unsigned nreq;          /* expect msg NAME|NAME: any of them */
	uint32_t req[SCRIPT_ORDER_MAX_NAMES];
	bool has_fds, has_size, has_flags;
	unsigned fds;
	uint32_t size, flags;
};

/* One side of `expect order`: chan:reply or chan:NAME|NAME. */
struct script_order_item {
	enum script_chan chan;
	bool reply;
	unsigned nreq;
	uint32_t req[SCRIPT_ORDER_MAX_NAMES];
	char text[96];          /* as written, for reports */
};

/* expect result: what the target's pending map/unmap answer must say
 * (docs/control.md). */
enum script_result { SCRIPT_RESULT_OK = 0, SCRIPT_RESULT_FAIL,
		     SCRIPT_RESULT_SENT, SCRIPT_RESULT_ANY,
		     SCRIPT_RESULT_NOT_OK };

struct script_shmem_cfg {
	bool nregions_match, page_multiple, stable, has_regions;
	unsigned nsizes;        /* regions=: sizes in step->list */
};

struct script_check {
	char fd[FDPOOL_NAME_MAX];
	bool has_count, has_prot, has_offset, has_len;
	uint64_t count, offset, len;
	char prot[5];
	int severity;           /* findings none: enum proto_severity */
	int code;               /* finding: enum proto_finding_code */
};

struct script_step {
	enum script_op op;
	unsigned line;
	enum script_grade grade;  /* graded ops: grade= or the case level */
	bool is_assert;           /* `assert`: a failure stops the case */
	/* `require`: the event the rule needs; when it fails the rule was
	 * not exercised: UNSUPPORTED (unless something failed already),
	 * and the case stops. */
	bool is_require;
	enum script_chan on;
	int64_t within_ms;        /* waits: the window, before scaling */
	unsigned jump;            /* repeat: index of its end; end: of its repeat */
	uint64_t count;           /* repeat N, sleep MS */
	uint8_t *data;            /* payload= / raw HEX bytes (owned) */
	size_t data_len;
	uint64_t *list;           /* regions= sizes (owned) */
	union {
		struct script_fd fd;
		struct script_control control;
		struct script_handshake hs;
		struct script_send send;
		struct script_reply reply;
		struct script_expect_reply er;
		struct script_expect_msg em;
		struct {
			struct script_order_item a, b;
		} order;
		struct script_shmem_cfg sc;
		struct script_check chk;
		struct script_order_item hold; /* hold: main:NAME|NAME */
		enum script_result result;
	} u;
};

struct script_case {
	char file[512];
	char id[64];
	char title[256];
	char area[64];          /* the case file's directory name */
	char rule[256];
	char reason[512];
	enum script_role role;  /* the harness's; the header says the target's */
	enum script_grade level;
	uint64_t timeout_ms;    /* 5000 unless `timeout` */
	uint64_t requires_pf;   /* protocol feature bits, SHMEM not included */
	bool requires_shmem;    /* SHMEM, whose bit is a run-time setting */
	bool requires_control;
	bool requires_pid;
	bool requires_socket;   /* launched with {socket}: can reconnect */
	/* The `requires` lines naming control, pid, socket (0: not
	 * required), for the findings of reqcheck.h. */
	unsigned control_line, pid_line, socket_line;
	char requires_text[256]; /* the words, for reports */
	bool has_handshake;
	/* Errors in the header (its lines, a required line missing): with
	 * none, the header fields hold even when the steps did not parse. */
	unsigned header_errors;
	enum script_refusal refusal;
	/* `model single-thread`: as back-end, hold every main-channel
	 * answer while a back-end request awaits its reply (a back-end
	 * that serves both channels on one thread); default: answer them
	 * (one thread per channel). */
	bool single_thread;
	struct script_step *steps;
	unsigned nsteps;
};

#define SCRIPT_DEFAULT_TIMEOUT_MS 5000u

/* Frees the steps of c (the header fields stay). */
void script_free(struct script_case *c);

/* The value of a hex digit (either case), -1 for anything else. */
int script_digit_value(char c);

/* A number: decimal or 0x hex, up to 64 bits, with a binary k/m/g suffix
 * (either case) when allow_suffix. 0, or -EINVAL / -ERANGE. */
int script_parse_u64(const char *s, bool allow_suffix, uint64_t *out);

#endif
