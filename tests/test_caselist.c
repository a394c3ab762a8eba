/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for harness/engine/caselist: the JSON line per case file
 * that `vhucheck-harness --list-json` prints and the runner reads, from
 * real files in a temp dir.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caselist.h"
#include "vhutest.h"

/* The line caselist_write prints for TEXT written as DIR/AREA/ID.vhu. */
static char *listed(const char *area, const char *id, const char *text,
		    char *path, size_t cap)
{
	char dir[256], sub[300];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	vt_tmp_dir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/%s", dir, area);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(path, cap, "%s/%s.vhu", sub, id);
	vt_write_file(path, text);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(caselist_write(f, path), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(remove(path), 0);
	vt_rm_tree(sub);
	vt_rm_tree(dir);
	return buf;
}

static void has(const char *line, const char *part)
{
	ck_assert_msg(strstr(line, part) != NULL, "'%s' lacks '%s'", line, part);
}

TEST_CASE("caselist");

START_TEST(header_fields_as_json)
{
	char path[600], file[700];
	char *line = listed("C-map", "map_one",
		"id map_one\ntitle Maps \"one\" page\ntarget frontend\n"
		"rule 6: MAP maps\nlevel SHOULD\nreason the spec says should\nrequires SHMEM REPLY_ACK pid\n"
		"timeout 800\n\nhandshake\n", path, sizeof(path));

	ck_assert_ptr_nonnull(line);
	snprintf(file, sizeof(file), "{\"file\": \"%s\"", path);
	ck_assert_msg(strncmp(line, file, strlen(file)) == 0, "%s", line);
	has(line, "\"id\": \"map_one\"");
	has(line, "\"title\": \"Maps \\\"one\\\" page\"");
	has(line, "\"area\": \"C-map\"");
	has(line, "\"role\": \"frontend\"");
	has(line, "\"rule\": \"6: MAP maps\"");
	has(line, "\"level\": \"SHOULD\"");
	has(line, "\"reason\": \"the spec says should\"");
	has(line, "\"requires\": [\"SHMEM\", \"REPLY_ACK\", \"pid\"]");
	has(line, "\"timeout_ms\": 800");
	has(line, "\"header_ok\": true");
	has(line, "\"errors\": []");
	ck_assert_int_eq(line[strlen(line) - 1], '\n');
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	free(line);
}
END_TEST

/* Steps that do not parse: still listed, header fields and all, with
 * every error (running it is an ERROR). */
START_TEST(step_errors_are_listed_with_the_header)
{
	char path[600];
	char *line = listed("B-x", "t",
		"id t\ntitle T\ntarget backend\nrule r\nlevel MUST\n"
		"handshake\nfrobnicate now\n", path, sizeof(path));

	has(line, "\"id\": \"t\"");
	has(line, "\"timeout_ms\": 5000");
	has(line, "\"header_ok\": true");
	has(line, ".vhu:7: ");
	has(line, "frobnicate");
	free(line);
}
END_TEST

START_TEST(broken_header_is_not_ok)
{
	char path[600];
	char *line = listed("B-x", "t", "id t\ntitle T\ntarget sideways\n",
			    path, sizeof(path));

	has(line, "\"header_ok\": false");
	has(line, "sideways");
	free(line);
}
END_TEST

START_TEST(missing_file_is_listed_as_an_error)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(caselist_write(f, "/nonexistent/vhu/A-x/t.vhu"), 0);
	fclose(f);
	has(buf, "\"header_ok\": false");
	has(buf, "/nonexistent/vhu/A-x/t.vhu");
	free(buf);
}
END_TEST
