/* SPDX-License-Identifier: MIT */
/*
 * ctlanswer: the control channel's answers as text. See ctlanswer.h.
 */
#include "ctlanswer.h"

#include <stdlib.h>
#include <string.h>

bool ctlanswer_is(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 && (s[n] == '\0' || s[n] == ' ');
}

/* The value of ` key=` in an answer's words, or NULL. */
static const char *field(const char *answer, const char *key)
{
	size_t n = strlen(key);
	const char *p = answer;

	while ((p = strchr(p, ' ')) != NULL) {
		p++;
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return p + n + 1;
	}
	return NULL;
}

int ctlanswer_version(const char *answer)
{
	const char *v;
	char *end;
	long n;

	if (ctlanswer_is(answer, "err"))
		return 1;
	if (!ctlanswer_is(answer, "ok"))
		return -1;
	v = field(answer, "version");
	if (!v)
		return 1;
	n = strtol(v, &end, 10);
	if (end == v || (*end != '\0' && *end != ' ') || n < 1 || n > 1000000)
		return -1;
	return (int)n;
}

enum ctlanswer_outcome ctlanswer_outcome(const char *answer,
					 const char **reason)
{
	const char *v = ctlanswer_is(answer, "ok") ? field(answer, "result")
						  : NULL;
	const char *why = v ? field(answer, "reason") : NULL;

	if (reason)
		*reason = why ? why : "";
	if (!v)
		return CTLANSWER_BAD;
	if (ctlanswer_is(v, "0"))
		return CTLANSWER_OK;
	if (ctlanswer_is(v, "fail"))
		return CTLANSWER_FAIL;
	if (ctlanswer_is(v, "sent"))
		return CTLANSWER_SENT;
	return CTLANSWER_BAD;
}

/* The WHY of `err unsupported: WHY` (docs/architecture.md, "The control
 * channel"): the target understands the command but cannot carry it out.
 * NULL for any other answer; a missing WHY is said so. */
const char *ctlanswer_unsupported(const char *answer)
{
	static const char tag[] = "err unsupported";
	const char *p = answer + sizeof(tag) - 1;

	if (strncmp(answer, tag, sizeof(tag) - 1) != 0 ||
	    (*p != ':' && *p != '\0'))
		return NULL;
	if (*p == ':')
		p++;
	p += strspn(p, " \t");
	return *p ? p : "(no reason given)";
}
