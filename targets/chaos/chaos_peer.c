/* SPDX-License-Identifier: MIT */
#include "chaos_peer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chaos_act.h"
#include "refsys.h"

#define MEMFD_MAX (UINT64_C(64) << 20)

void chaos_peer_init(struct chaos_peer *p, enum chaos_mode mode,
		     uint64_t seed, unsigned shmem_bit)
{
	memset(p, 0, sizeof(*p));
	chaos_plan_init(&p->plan, mode, seed);
	chan_init(&p->main, -1, "main", PROTO_CHAN_MAIN);
	chan_init(&p->backend, -1, "backend", PROTO_CHAN_BACKEND);
	ctl_reader_init(&p->ctl, -1);
	p->shmem_bit = shmem_bit;
	p->pfeat_offer = chaos_peer_supported(shmem_bit);
	p->guest_mem_fd = -1;
	chaos_wire_init(&p->wire, &p->plan, &p->log, &p->main, &p->backend,
			&p->ctl.fd);
}

void chaos_peer_free(struct chaos_peer *p)
{
	for (unsigned i = 0; i < p->nmaps; i++)
		munmap(p->maps[i].addr, p->maps[i].len);
	p->nmaps = 0;
	if (p->guest_mem_fd >= 0)
		close(p->guest_mem_fd);
	p->guest_mem_fd = -1;
	chan_close(&p->main);
	chan_close(&p->backend);
	if (p->ctl.fd >= 0)
		close(p->ctl.fd);
	p->ctl.fd = -1;
	chaos_wire_free(&p->wire);
}

void chaos_peer_on_version(struct chaos_peer *p, const struct ctl_cmd *cmd)
{
	uint64_t asked;
	char text[32];

	if (cmd->nargs != 1 || cmd->args[0].has_val ||
	    ctl_parse_u64(cmd->args[0].key, &asked) < 0 || asked == 0) {
		chaos_peer_err(p, "version: usage: version N (N >= 1)");
		return;
	}
	p->ctl_version = asked < 2 ? 1 : 2;
	snprintf(text, sizeof(text), "version=%d", p->ctl_version);
	chaos_peer_ok(p, text);
}

uint64_t chaos_peer_supported(unsigned shmem_bit)
{
	static const unsigned bits[] = {
		PROTO_PF_REPLY_ACK, PROTO_PF_BACKEND_REQ,
		PROTO_PF_BACKEND_SEND_FD, PROTO_PF_RESET_DEVICE,
		PROTO_PF_CONFIGURE_MEM_SLOTS, PROTO_PF_STATUS,
	};
	uint64_t f = shmem_bit < 64 ? UINT64_C(1) << shmem_bit : 0;

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		f |= UINT64_C(1) << bits[i];
	return f;
}

bool chaos_peer_has(const struct chaos_peer *p, unsigned bit)
{
	return bit < 64 && ((p->pfeat >> bit) & 1);
}

void chaos_peer_say(const struct chaos_peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refsys_vlog(p->log.fn, p->log.opaque, fmt, ap);
	va_end(ap);
}

int chaos_peer_request(struct chaos_peer *p, struct chan *c, uint32_t req,
		       uint32_t flags, const void *payload, size_t len,
		       const int *fds, unsigned nfds)
{
	struct proto_hdr h = { .request = req, .flags = PROTO_VERSION | flags,
			       .size = (uint32_t)len };

	return chaos_wire_send(&p->wire, c, &h, payload, len, fds, nfds);
}

int chaos_peer_reply(struct chaos_peer *p, struct chan *c, uint32_t req,
		     const void *payload, size_t len)
{
	return chaos_peer_request(p, c, req, PROTO_F_REPLY, payload, len, NULL,
				  0);
}

int chaos_peer_reply_u64(struct chaos_peer *p, struct chan *c, uint32_t req,
			 uint64_t v)
{
	uint8_t b[8];

	proto_u64_encode(v, b, sizeof(b));
	return chaos_peer_reply(p, c, req, b, sizeof(b));
}

int chaos_peer_recv(struct chaos_peer *p, struct chan *c,
		    struct chan_msg *m, int ms)
{
	int st;

	chan_msg_init(m);
	if (c->fd < 0)
		return CHAN_EOF;
	st = chan_recv(c, m, chan_deadline(ms));
	if (st == CHAN_TIMEOUT)
		return st;
	chaos_wire_event(&p->wire);
	if (st != CHAN_OK && st != CHAN_TOO_MANY_FDS) {
		if (c == &p->main && (st == CHAN_EOF || st == CHAN_RESET))
			chaos_act_on_eof(&p->plan, &p->log);
		chaos_peer_say(p, "%s channel: %s, closing it", c->name,
			       st > 0 ? chan_status_name((enum chan_status)st)
				      : strerror(-st));
		chan_msg_release(m);
		chan_close(c);
	}
	return st;
}

void chaos_peer_ok(struct chaos_peer *p, const char *text)
{
	char line[1100];

	snprintf(line, sizeof(line), "ok%s%s", text ? " " : "", text ? text : "");
	chaos_wire_ctl(&p->wire, line);
}

void chaos_peer_err(struct chaos_peer *p, const char *text)
{
	char line[1100];

	snprintf(line, sizeof(line), "err %s", text);
	chaos_wire_ctl(&p->wire, line);
}

int chaos_peer_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(size > MEMFD_MAX ? MEMFD_MAX : size)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}
