/* SPDX-License-Identifier: MIT */
/* A case being run on real sockets, without a target (vhurun.h). */
#include "vhurun.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhutest.h"

/* Everything but the case. */
static void setup(struct vt_run *t, enum script_role role)
{
	int sv[2];

	t->env.role = role;
	t->env.timeout_mult = 1.0;
	t->env.shmem_bit = PROTO_SHMEM_BIT_DEFAULT;
	t->env.cancel_fd = t->env.listen_fd = -1;
	t->st.line = 1;
	t->st.grade = SCRIPT_MUST;
	t->st.within_ms = 1000;
	t->x.env = &t->env;
	t->x.c = &t->c;
	t->x.r = &t->r;
	t->x.st = t->c.nsteps ? &t->c.steps[0] : &t->st;
	t->x.mem_fd = t->x.vring_fds[0] = t->x.vring_fds[1] = -1;
	t->x.sock_listen_fd = -1;
	t->x.reply_to = -1;
	target_init(&t->x.tgt);
	vt_socketpair(sv);
	sess_init(&t->x.s, role, sv[0], -1, -1, -1, NULL, NULL);
	chan_init(&t->peer_main, sv[1], "peer-main", PROTO_CHAN_MAIN);
	t->peer_backend.fd = -1;
	t->peer_ctl = -1;
}

struct vt_run *vt_run_new(enum script_role role)
{
	struct vt_run *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	t->c.role = role;
	t->c.level = SCRIPT_MUST;
	t->c.timeout_ms = 5000;
	setup(t, role);
	return t;
}

struct vt_run *vt_run_case(const char *text)
{
	struct vt_run *t = calloc(1, sizeof(*t));
	char err[2048] = "";
	int n;

	ck_assert_ptr_nonnull(t);
	n = script_parse_text("suites/X-test/t.vhu", text, &t->c, err, sizeof(err));
	for (char *p = err; *p; p++)
		if (*p == '\n')
			*p = ' ';
	ck_assert_msg(n == 0, "the case does not parse: %s", err);
	t->parsed = true;
	t->x.loops = calloc(t->c.nsteps ? t->c.nsteps : 1, sizeof(*t->x.loops));
	ck_assert_ptr_nonnull(t->x.loops);
	setup(t, t->c.role);
	return t;
}

void vt_run_at(struct vt_run *t, unsigned i)
{
	ck_assert_uint_lt(i, t->c.nsteps);
	t->x.st = &t->c.steps[i];
}

void vt_run_backend(struct vt_run *t)
{
	int sv[2];

	vt_socketpair(sv);
	sess_set_chan(&t->x.s, SCRIPT_BACKEND, sv[0]);
	chan_init(&t->peer_backend, sv[1], "peer-backend", PROTO_CHAN_BACKEND);
}

void vt_run_control(struct vt_run *t)
{
	int sv[2];

	vt_socketpair(sv);
	t->x.s.ctl_fd = sv[0];
	t->peer_ctl = sv[1];
}

void vt_run_free(struct vt_run *t)
{
	if (t->x.tgt.pid > 0 && !t->x.tgt.ended)
		target_stop(&t->x.tgt);
	sess_free(&t->x.s);
	/* What a front-end handshake made: guest RAM and the vring fds. */
	if (t->x.mem)
		munmap(t->x.mem, t->x.mem_len);
	if (t->x.mem_fd >= 0)
		close(t->x.mem_fd);
	for (int i = 0; i < 2; i++)
		if (t->x.vring_fds[i] >= 0)
			close(t->x.vring_fds[i]);
	chan_close(&t->peer_main);
	chan_close(&t->peer_backend);
	if (t->peer_ctl >= 0)
		close(t->peer_ctl);
	free(t->x.loops);
	if (t->parsed)
		script_free(&t->c);
	free(t);
}
