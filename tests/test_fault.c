/* SPDX-License-Identifier: MIT */
/* Unit tests for targets/ref/fault: the table, parsing, and agreement
 * with targets/faults/catalogue.ini. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "vhutest.h"

#ifndef VHU_CATALOGUE
#define VHU_CATALOGUE "targets/faults/catalogue.ini"
#endif

TEST_CASE("core");

START_TEST(test_table_names_well_formed)
{
	ck_assert_int_ge(FAULT_COUNT, 24);
	for (unsigned i = 0; i < FAULT_COUNT; i++) {
		const struct fault_info *f = fault_info((enum fault_id)i);
		const char *prefix = f->role == FAULT_ROLE_FRONTEND ? "fe_" : "be_";

		ck_assert_ptr_nonnull(f);
		ck_assert_msg(strncmp(f->name, prefix, 3) == 0,
			      "%s: prefix does not match its role", f->name);
		ck_assert_uint_eq(strspn(f->name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
				  strlen(f->name));
		ck_assert_uint_gt(strlen(f->summary), 10);
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(f->name, fault_name((enum fault_id)j));
	}
	ck_assert_ptr_null(fault_info(FAULT_COUNT));
	ck_assert_ptr_null(fault_name((enum fault_id)-1));
}
END_TEST

START_TEST(test_by_name_round_trip)
{
	for (unsigned i = 0; i < FAULT_COUNT; i++)
		ck_assert_int_eq(fault_by_name(fault_name((enum fault_id)i)),
				 (int)i);
	ck_assert_int_eq(fault_by_name("fe_nonexistent"), -1);
	ck_assert_int_eq(fault_by_name("FE_NO_OVERLAP_CHECK"), -1);
	ck_assert_int_eq(fault_by_name(""), -1);
}
END_TEST

START_TEST(test_set_bits_independent)
{
	struct fault_set s;

	fault_set_clear(&s);
	ck_assert_uint_eq(fault_set_count(&s), 0);
	for (unsigned i = 0; i < FAULT_COUNT; i += 3)
		fault_set_add(&s, (enum fault_id)i);
	for (unsigned i = 0; i < FAULT_COUNT; i++)
		ck_assert(fault_on(&s, (enum fault_id)i) == (i % 3 == 0));
	ck_assert_uint_eq(fault_set_count(&s), (FAULT_COUNT + 2) / 3);
	fault_set_add(&s, FAULT_COUNT); /* out of range: ignored */
	ck_assert(!fault_on(&s, FAULT_COUNT));
}
END_TEST

START_TEST(test_parse_accepts_role_faults)
{
	struct fault_set s;
	char err[128];

	fault_set_clear(&s);
	ck_assert_int_eq(fault_parse(&s, "fe_no_overlap_check",
				     FAULT_ROLE_FRONTEND, err, sizeof(err)), 0);
	ck_assert(fault_on(&s, FAULT_FE_NO_OVERLAP_CHECK));
	ck_assert_int_eq(fault_parse(&s, "fe_len_zero_accepted,fe_ro_mapped_rw",
				     FAULT_ROLE_FRONTEND, err, sizeof(err)), 0);
	ck_assert(fault_on(&s, FAULT_FE_LEN_ZERO_ACCEPTED));
	ck_assert(fault_on(&s, FAULT_FE_RO_MAPPED_RW));
	ck_assert_uint_eq(fault_set_count(&s), 3);
}
END_TEST

START_TEST(test_parse_rejects_unknown)
{
	struct fault_set s;
	char err[128] = "";

	fault_set_clear(&s);
	ck_assert_int_eq(fault_parse(&s, "fe_bogus", FAULT_ROLE_FRONTEND, err,
				     sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown fault 'fe_bogus'"));
	ck_assert_uint_eq(fault_set_count(&s), 0);
}
END_TEST

START_TEST(test_parse_rejects_other_role)
{
	struct fault_set s;
	char err[128] = "";

	fault_set_clear(&s);
	ck_assert_int_eq(fault_parse(&s, "be_no_fd_on_map", FAULT_ROLE_FRONTEND,
				     err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "backend"));
	ck_assert_int_eq(fault_parse(&s, "fe_no_bounds_check", FAULT_ROLE_BACKEND,
				     err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_parse_list_all_or_nothing)
{
	struct fault_set s;
	char err[128];

	fault_set_clear(&s);
	ck_assert_int_eq(fault_parse(&s, "be_no_fd_on_map,nope",
				     FAULT_ROLE_BACKEND, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(fault_set_count(&s), 0);
	ck_assert_int_eq(fault_parse(&s, "be_no_fd_on_map,", FAULT_ROLE_BACKEND,
				     err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(fault_parse(&s, ",", FAULT_ROLE_BACKEND, err,
				     sizeof(err)), -EINVAL);
	ck_assert_uint_eq(fault_set_count(&s), 0);
}
END_TEST

START_TEST(test_list_names)
{
	char buf[4096];
	int n = fault_list_names(FAULT_ROLE_BACKEND, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf, "be_config_unstable"));
	ck_assert_ptr_null(strstr(buf, "fe_"));
	ck_assert_int_eq(fault_list_names(FAULT_ROLE_FRONTEND, buf, 8), -ENOSPC);
}
END_TEST

/* ---- the catalogue ---- */

struct cat_section {
	char name[64];
	char role[16];
	bool has_class, has_rule;
	unsigned ncases;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static unsigned count_words(const char *s)
{
	unsigned n = 0;
	bool in = false;

	for (; *s; s++) {
		bool sp = *s == ' ' || *s == '\t';

		n += !sp && !in;
		in = !sp;
	}
	return n;
}

static void cat_key(struct cat_section *c, const char *k, const char *v)
{
	if (strcmp(k, "role") == 0)
		snprintf(c->role, sizeof(c->role), "%s", v);
	else if (strcmp(k, "class") == 0)
		c->has_class = *v != '\0';
	else if (strcmp(k, "rule") == 0)
		c->has_rule = *v != '\0';
	else if (strcmp(k, "cases") == 0)
		c->ncases = count_words(v);
	else if (strcmp(k, "grade") == 0)
		ck_assert_msg(strcmp(v, "SHOULD") == 0, "[%s]: grade '%s', only "
			      "SHOULD", c->name, v);
	else
		ck_abort_msg("[%s]: unknown key '%s'", c->name, k);
}

static unsigned read_catalogue(struct cat_section *out, unsigned max)
{
	const char *path = getenv("VHU_CATALOGUE") ? getenv("VHU_CATALOGUE")
						   : VHU_CATALOGUE;
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *l = trim(line), *eq;

		if (!*l || *l == '#')
			continue;
		if (*l == '[') {
			ck_assert_uint_lt(n, max);
			memset(&out[n], 0, sizeof(out[n]));
			ck_assert_ptr_nonnull(strchr(l, ']'));
			*strchr(l, ']') = '\0';
			snprintf(out[n++].name, sizeof(out[0].name), "%s", l + 1);
			continue;
		}
		eq = strchr(l, '=');
		ck_assert_msg(eq && n > 0, "bad catalogue line '%s'", l);
		*eq = '\0';
		cat_key(&out[n - 1], trim(l), trim(eq + 1));
	}
	fclose(f);
	return n;
}

START_TEST(test_catalogue_matches_table)
{
	struct cat_section cat[128];
	unsigned n = read_catalogue(cat, 128);
	bool seen[FAULT_COUNT] = { false };

	ck_assert_uint_eq(n, FAULT_COUNT);
	for (unsigned i = 0; i < n; i++) {
		int id = fault_by_name(cat[i].name);
		const struct fault_info *f;

		ck_assert_msg(id >= 0, "[%s] is not in the C table", cat[i].name);
		ck_assert_msg(!seen[id], "[%s] twice", cat[i].name);
		seen[id] = true;
		f = fault_info((enum fault_id)id);
		ck_assert_str_eq(cat[i].role, f->role == FAULT_ROLE_FRONTEND
						      ? "frontend" : "backend");
		ck_assert_msg(cat[i].has_class && cat[i].has_rule &&
			      cat[i].ncases > 0,
			      "[%s] lacks class, rule or cases", cat[i].name);
	}
}
END_TEST
