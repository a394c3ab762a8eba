/* SPDX-License-Identifier: MIT */
/* livespare: see livespare.h. */
#include "livespare.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int find(const struct livespare *s, const struct livespare_key *k)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i].request == k->request && s->e[i].fd == k->fd &&
		    s->e[i].bits == k->bits &&
		    strncmp(s->e[i].why, k->why ? k->why : "",
			    sizeof(s->e[i].why) - 1) == 0)
			return (int)i;
	return -1;
}

void livespare_init(struct livespare *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 7;
}

bool livespare_skip(struct livespare *s, const struct livespare_key *k)
{
	int i = find(s, k);
	unsigned c;

	if (i < 0)
		return false;
	/* xorshift64*, its own: the generator's draws stay as they were */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	c = s->e[i].costs < LIVESPARE_CAP ? s->e[i].costs : LIVESPARE_CAP;
	return (s->rng * UINT64_C(2685821657736338717)) % (c + 1) != 0;
}

void livespare_cost(struct livespare *s, const struct livespare_key *k)
{
	int i = find(s, k);

	if (i < 0) {
		if (s->n == LIVESPARE_MAX)
			return;
		i = (int)s->n++;
		s->e[i].request = k->request;
		s->e[i].fd = k->fd;
		s->e[i].bits = k->bits;
		snprintf(s->e[i].why, sizeof(s->e[i].why), "%s", k->why ? k->why : "");
		s->e[i].costs = 0;
	}
	s->e[i].costs++;
}

static int load(struct livespare *s, FILE *f)
{
	unsigned req, fd, bits, costs;
	char why[96];

	s->n = 0;
	while (s->n < LIVESPARE_MAX &&
	       fscanf(f, "%u %u %u %u %95[^\n]\n", &req, &fd, &bits, &costs,
		      why) == 5) {
		s->e[s->n].request = req;
		s->e[s->n].fd = (uint8_t)fd;
		s->e[s->n].bits = (uint8_t)bits;
		s->e[s->n].costs = costs;
		snprintf(s->e[s->n].why, sizeof(s->e[s->n].why), "%s",
			 strcmp(why, "-") == 0 ? "" : why);
		s->n++;
	}
	return ferror(f) ? -1 : 0;
}

int livespare_beside(struct livespare *s, const char *states, bool save)
{
	char path[4096];
	FILE *f;
	int rc = 0;

	if (!states)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s.spare", states) >= sizeof(path))
		return -1;
	f = fopen(path, save ? "w" : "r");
	if (!f)
		return !save && errno == ENOENT ? 0 : -1;
	if (!save)
		rc = load(s, f);
	for (unsigned i = 0; save && i < s->n; i++)
		if (fprintf(f, "%u %u %u %u %s\n", s->e[i].request, s->e[i].fd,
			    s->e[i].bits, s->e[i].costs,
			    s->e[i].why[0] ? s->e[i].why : "-") < 0)
			rc = -1;
	return fclose(f) == 0 ? rc : -1;
}
