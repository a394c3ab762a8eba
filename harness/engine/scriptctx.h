/* SPDX-License-Identifier: MIT */
/*
 * scriptctx: the state of the .vhu parser while it reads one case, and
 * what every step parser shares: errors as "path:line: message", the
 * KEY=VALUE words of a line, the value parsers (numbers, hex, sizes,
 * grades, windows, channels, request names). Internal to the parser
 * (script.c, scriptstep.c, scriptgrade.c); the rest of the engine sees
 * script.h only.
 */
#ifndef VHU_SCRIPTCTX_H
#define VHU_SCRIPTCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdpool.h"
#include "scriptcase.h"

#define SCTX_MAX_ERRORS 10u
#define SCTX_MAX_ARGS 40u
#define SCTX_MAX_DEPTH 16u
#define SCTX_MAX_DATA 8192u     /* payload=/raw bytes */
#define SCTX_MAX_WINDOW_MS 600000u

struct arg {
	char *key;
	char *val;          /* NULL for a bare word */
	bool used;
};

struct args {
	struct arg a[SCTX_MAX_ARGS];
	unsigned n;
};

enum hdr_key { HK_ID, HK_TITLE, HK_TARGET, HK_RULE, HK_LEVEL, HK_REASON,
	       HK_TIMEOUT, HK_MODEL, HK_REFUSAL, HK_MAX };

struct pctx {
	const char *path;
	unsigned line;
	char *err;
	size_t errcap;
	unsigned nerr;
	struct script_case *c;
	unsigned cap;
	bool in_steps;
	bool checking_header;   /* check_header(): its errors are the header's */
	bool seen[HK_MAX];
	unsigned header_end_line;
	unsigned stack[SCTX_MAX_DEPTH];
	unsigned depth;
	char fds[FDPOOL_MAX][FDPOOL_NAME_MAX];
	unsigned nfds;
	bool marked;
	bool has_send;
	enum script_chan last_send_chan;
	unsigned control_line, pid_line, proto_req_line, refusal_line;
	struct script_step *st;   /* the step being parsed */
};


void sctx_perr(struct pctx *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *sctx_arg_val(struct pctx *p, struct args *a, const char *key,
			   bool *bad);
bool sctx_arg_flag(struct pctx *p, struct args *a, const char *key,
		     bool *bad);
bool sctx_arg_num(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint64_t max, uint64_t *out, bool *bad);
bool sctx_arg_u32(struct pctx *p, struct args *a, const char *key,
		    bool suffix, uint32_t *out, bool *bad);
int sctx_arg_choice(struct pctx *p, struct args *a, const char *key,
		      const char *const *choices, bool *bad);
bool sctx_args_all_used(struct pctx *p, struct args *a, const char *what);
bool sctx_valid_name(const char *s, size_t max);
bool sctx_fd_declared(struct pctx *p, const char *name);
bool sctx_parse_hex(struct pctx *p, const char *what, const char *hex,
		      size_t max, uint8_t **out, size_t *len);
bool sctx_parse_sizes(struct pctx *p, const char *key, const char *v,
			unsigned *count);
bool sctx_take_grade(struct pctx *p, struct args *a);
bool sctx_take_within(struct pctx *p, struct args *a, int64_t dflt);
bool sctx_take_on(struct pctx *p, struct args *a, enum script_chan dflt);
bool sctx_resolve_request(struct pctx *p, const char *word, uint32_t *out);
bool sctx_need_role(struct pctx *p, enum script_role r, const char *what);
enum script_chan sctx_default_reply_chan(struct pctx *p);
enum script_chan sctx_default_msg_chan(struct pctx *p);
bool sctx_split_args(struct pctx *p, char **w, unsigned n, struct args *a);
bool sctx_need_pid(struct pctx *p);
bool sctx_parse_names(struct pctx *p, const char *word, uint32_t *req,
			unsigned *n);

#endif
