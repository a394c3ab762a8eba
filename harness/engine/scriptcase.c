/* SPDX-License-Identifier: MIT */
#include "scriptcase.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "protoname.h"

/* ---- names ---- */

const char *script_role_name(enum script_role r)
{
	return r == SCRIPT_ROLE_FRONTEND ? "frontend" : "backend";
}

const char *script_target_role_name(enum script_role r)
{
	return script_role_name(r == SCRIPT_ROLE_FRONTEND ? SCRIPT_ROLE_BACKEND
							  : SCRIPT_ROLE_FRONTEND);
}

const char *script_finding_name(int code)
{
	if (code == SCRIPT_FIND_UNSOLICITED_REPLY)
		return "UNSOLICITED_REPLY";
	return proto_finding_name((enum proto_finding_code)code);
}

static const char *const refusal_names[] = {
	[SCRIPT_REFUSAL_NONE] = "", [SCRIPT_REFUSAL_PASS] = "PASS",
	[SCRIPT_REFUSAL_NON_STRICT] = "NON-STRICT",
	[SCRIPT_REFUSAL_INFO] = "INFO",
};

const char *script_refusal_name(enum script_refusal r)
{
	return (unsigned)r < sizeof(refusal_names) / sizeof(refusal_names[0])
		       ? refusal_names[r] : "";
}

const char *script_grade_name(enum script_grade g)
{
	switch (g) {
	case SCRIPT_SHOULD: return "SHOULD";
	case SCRIPT_INFO: return "INFO";
	default: return "MUST";
	}
}

const char *script_chan_name(enum script_chan c)
{
	return c == SCRIPT_BACKEND ? "backend" : "main";
}

static const char *const op_names[] = {
	[SCRIPT_FD] = "fd",
	[SCRIPT_SLEEP] = "sleep",
	[SCRIPT_REPEAT] = "repeat",
	[SCRIPT_END] = "end",
	[SCRIPT_CONTROL] = "control",
	[SCRIPT_HANDSHAKE] = "handshake",
	[SCRIPT_SEND] = "send",
	[SCRIPT_REPLY] = "reply",
	[SCRIPT_CLOSE_BACKEND] = "close backend",
	[SCRIPT_MARK] = "mark",
	[SCRIPT_HOLD] = "hold",
	[SCRIPT_RELEASE] = "release",
	[SCRIPT_EXPECT_REPLY] = "expect reply",
	[SCRIPT_EXPECT_NO_REPLY] = "expect no-reply",
	[SCRIPT_EXPECT_MSG] = "expect msg",
	[SCRIPT_EXPECT_NO_MSG] = "expect no-msg",
	[SCRIPT_EXPECT_EOF] = "expect eof",
	[SCRIPT_EXPECT_ORDER] = "expect order",
	[SCRIPT_EXPECT_SHMEM_CONFIG] = "expect shmem-config",
	[SCRIPT_CHECK_ALIVE] = "check alive",
	[SCRIPT_CHECK_MAPPED] = "check mapped",
	[SCRIPT_CHECK_UNMAPPED] = "check unmapped",
	[SCRIPT_CHECK_FDS] = "check fds",
	[SCRIPT_CHECK_BASELINE] = "check baseline",
	[SCRIPT_CHECK_FINDINGS_NONE] = "check findings none",
	[SCRIPT_CHECK_FINDING] = "check finding",
	[SCRIPT_CHECK_LEDGER] = "check ledger",
	[SCRIPT_CHECK_MEMTABLE] = "check memtable",
	[SCRIPT_EXPECT_RESULT] = "expect result",
};

const char *script_op_name(enum script_op op)
{
	if ((unsigned)op < sizeof(op_names) / sizeof(op_names[0]))
		return op_names[op];
	return "?";
}

bool script_op_graded(enum script_op op)
{
	return op >= SCRIPT_EXPECT_REPLY;
}

/* ---- numbers ---- */

int script_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	default: return 0;
	}
}

int script_parse_u64(const char *s, bool allow_suffix, uint64_t *out)
{
	unsigned base = 10, shift = 0;
	size_t n = strlen(s);
	uint64_t v = 0;
	const char *p = s, *end;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		p += 2;
	}
	end = s + n;
	if (allow_suffix && end > p && (shift = suffix_shift(end[-1])) != 0)
		end--;
	if (p == end)
		return -EINVAL;
	for (; p < end; p++) {
		int d = script_digit_value(*p);

		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void script_free(struct script_case *c)
{
	for (unsigned i = 0; i < c->nsteps; i++) {
		free(c->steps[i].data);
		free(c->steps[i].list);
	}
	free(c->steps);
	c->steps = NULL;
	c->nsteps = 0;
}
