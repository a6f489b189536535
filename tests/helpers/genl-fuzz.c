// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * genl-fuzz: random and mutated netlink messages to the vfio_release
 * generic netlink family, from root and from user nobody at once, with
 * every reply checked.
 *
 *   genl-fuzz [--seed S] [--count N] [--time SECONDS] [--root N]
 *             [--nobody N] [--device DEV]... [--volatile DEV]...
 *             [--replay CASE] [--verbose]
 *
 * A run is --count N cases (default 10000; fewer when --time SECONDS runs
 * out first), shared by the workers: --root N processes as root (default
 * 1) and --nobody N as user nobody (default 1: uid and gid 65534, no
 * groups, no capabilities), all at once. Case i runs in worker
 * i % workers, and its random stream comes from the seed and i alone, so
 * "--seed S --replay I" (with the same --root and --nobody) sends case I
 * again, alone, printing what it sends and receives.
 *
 * Each case is one kind:
 *   get           GET of a device (known, absent, empty names)
 *   dump          a GET dump
 *   flags         random nlmsg_flags (NLM_F_DUMP, ACK, ECHO, ROOT, ...)
 *   attrs         random attributes: types, nesting, payloads, lengths
 *   cmd           every other command, the notifications' and unknown ones
 *   short         truncated netlink and genetlink headers
 *   len           wrong nlmsg_len and nla_len: short, long, huge
 *   mutate        a valid request with bytes flipped, cut or inserted
 *   garbage       random bytes
 *   batch         several messages of those kinds in one datagram
 *   huge          datagrams up to the socket's limit and past it
 *   dump-abandon  a socket closed with its dump unread or half read
 *   dump-then     a dump, then more requests before it is read
 *   dump-tiny     a dump read through buffers too small (MSG_TRUNC)
 *   dump-multi    dumps on several sockets at once, some closed midway
 *   mcast         joining and leaving the events group and others
 *   ctrl          the controller about the family: lookups, policy dumps
 *   family        unknown families, control types, no NLM_F_REQUEST
 * Nothing is sent to any other existing family.
 *
 * Every datagram is read here as the kernel reads it (netlink_rcv_skb,
 * genetlink's header and flag checks, the command, CAP_NET_ADMIN, the GET
 * policy's strict validation) to predict each message's answer: none, an
 * ack, an exact errno, one record of the named device, or a complete dump.
 * Replies are checked against that and parsed to the last byte: framing,
 * port and sequence, errors negative errno with the request echoed (or
 * capped as asked), extended acks, records with the uapi's attribute types
 * and lengths, one module instance, counters that never go back; a dump
 * lists every stable device exactly once. A worker as nobody gets EPERM
 * and never a record or an event. The parent listens to the events group
 * all along (every event well-formed, sequence numbers without a gap that
 * neither an overrun nor a RESYNC explains) and at the end checks that the
 * family is registered as before and that a dump and a GET of every
 * stable device still work.
 *
 * Devices: those of a dump at start. --device DEV must be among them and
 * stay: its GET must answer its record. Every other device is volatile (it
 * may come and go, -ENODEV is fine), as is --volatile DEV.
 *
 * Output: the seed first, then figures: cases, datagrams and netlink
 * messages sent, seconds, rate, cases by kind, replies by errno; then
 * "RESULT PASS" or "RESULT FAIL: N failures". Exit 0 when every check
 * passed, 1 on a failure (each printed with its case for --replay), 2 on a
 * setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vfio_release.h>

#include "helper-util.h"

#define MAX_DEVS	2048
#define NAME_MAX_LEN	VFIO_RELEASE_DEVICE_NAME_MAX
#define MAX_PEND	64
#define SEND_MAX	(256 * 1024)
#define RECV_MAX	(512 * 1024)
#define MAX_WORKERS	16
#define NERR		256	/* errno histogram: 0..255, and "other" */
#define MAX_FAIL_LOG	20
#define STALL_MS	20000	/* a dump that sends nothing for this long */
#define NOBODY		65534

#define GENL_ATTR_OFF	(NLMSG_HDRLEN + NLMSG_ALIGN(GENL_HDRLEN))

enum kind {
	K_GET, K_DUMP, K_FLAGS, K_ATTRS, K_CMD, K_SHORT, K_LEN, K_MUTATE,
	K_GARBAGE, K_BATCH, K_HUGE, K_DUMP_ABANDON, K_DUMP_THEN, K_DUMP_TINY,
	K_DUMP_MULTI, K_MCAST, K_CTRL, K_FAMILY, NKINDS
};

static const char *const kind_name[NKINDS] = {
	"get", "dump", "flags", "attrs", "cmd", "short", "len", "mutate",
	"garbage", "batch", "huge", "dump-abandon", "dump-then", "dump-tiny",
	"dump-multi", "mcast", "ctrl", "family",
};

/* How often each kind is picked, out of the sum. */
static const unsigned int kind_weight[NKINDS] = {
	[K_GET] = 14, [K_DUMP] = 4, [K_FLAGS] = 8, [K_ATTRS] = 14,
	[K_CMD] = 6, [K_SHORT] = 5, [K_LEN] = 8, [K_MUTATE] = 12,
	[K_GARBAGE] = 8, [K_BATCH] = 7, [K_HUGE] = 1, [K_DUMP_ABANDON] = 3,
	[K_DUMP_THEN] = 3, [K_DUMP_TINY] = 2, [K_DUMP_MULTI] = 1,
	[K_MCAST] = 3, [K_CTRL] = 4, [K_FAMILY] = 5,
};

/* What the kernel must answer to one message. */
enum expect {
	EXP_ACK,	/* an ack if NLM_F_ACK, else nothing */
	EXP_ERR,	/* exactly the error "want" */
	EXP_RECORD,	/* the record of device "dev" (+ ack if NLM_F_ACK) */
	EXP_DUMP,	/* a complete dump: every stable device once, DONE */
	EXP_CTRL,	/* the controller's answer: only checked for form */
};

/* Figures of one worker, in memory shared with the parent. */
struct stats {
	uint64_t cases, kinds[NKINDS], dgrams, msgs, bytes;
	uint64_t err[NERR + 1];		/* NLMSG_ERROR by -error, [0]: acks */
	uint64_t done_err[NERR + 1];	/* NLMSG_DONE's errno */
	uint64_t send_err[NERR + 1];	/* sendmsg's errno */
	uint64_t sockopt_err[NERR + 1];	/* setsockopt and bind, by errno */
	uint64_t records, dump_parts, dump_intr, dones, events, foreign;
	uint64_t ctrl_replies, truncated, overruns, lossy, unparsed;
	uint64_t joins, joins_refused, eperm;
	uint64_t gaps, gaps_explained, resyncs;
	uint64_t failures, last_case;
	int role;			/* 0 root, 1 nobody */
	int done;
};

struct nls {
	int fd;
	uint32_t portid;
	bool ext_ack, cap_ack, joined;
	bool dump_open;		/* a dump may still run on it */
	uint64_t ev_seq;	/* last event sequence seen on it */
};

struct pend {
	uint32_t seq;
	uint16_t type, flags;
	const uint8_t *sent;	/* the message as sent */
	uint32_t len;
	enum expect exp;
	int want, dev;
	bool eagain_ok, busy_ok, enodev_ok, is_dump;
	/* what came */
	int n_err, err, n_ack, n_rec, n_multi, n_done, done_err;
	bool named_ok;
	uint16_t *seen;		/* per device, for dumps */
};

struct round {
	struct nls *s;
	struct pend p[MAX_PEND];
	int np;
	uint8_t *store;		/* copies of the datagrams sent */
	size_t stored;
	uint16_t *seen;		/* MAX_PEND x MAX_DEVS: records per device */
	bool lossy;
	bool monotonic;		/* replies come in the order they were made */
};

struct buf {
	uint8_t *p;
	size_t len, cap;
	/* Where gen_ctrl put its messages: the only ones sent to the controller. */
	size_t ctrl_off[32];
	int nctrl;
};

struct rng {
	uint64_t s;
};

/* A record or event, as parsed. */
struct rec {
	const char *name;
	uint64_t u[VFIO_RELEASE_A_MAX + 1];
	bool has[VFIO_RELEASE_A_MAX + 1];
};

struct devstate {
	bool seen;
	uint64_t registration, generation, seq, opens, releases, frees;
};

struct worker {
	int id, role;
	struct stats *st;
	struct rng r;
	uint64_t idx;
	enum kind kind;
	struct nls main;
	struct round rd;
	uint8_t *rbuf;
	struct devstate *ds;
	const char *what;	/* for failure lines */
	unsigned int fails_logged;
};

static struct {
	uint64_t seed, count;
	double seconds;
	int nroot, nnobody, nworkers;
	bool verbose, replay, seed_given;
	uint64_t replay_case;
	uint16_t fam;
	uint32_t grp;
	uint64_t instance;
	char devs[MAX_DEVS][NAME_MAX_LEN];
	bool vol[MAX_DEVS];
	int ndevs;
	char want_stable[MAX_DEVS][NAME_MAX_LEN];
	int nwant_stable;
	char want_vol[MAX_DEVS][NAME_MAX_LEN];
	int nwant_vol;
	uint16_t used_ids[1024];
	int nused;
	uint64_t t0, deadline;
} cfg;

static struct stats *stats;	/* nworkers + 2: the parent's listener, the post-check */
static volatile sig_atomic_t stop_now;

/* ---------- random numbers ---------- */

static uint64_t mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct rng *r)
{
	return mix(&r->s);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned int percent)
{
	return below(r, 100) < percent;
}

static void rng_for_case(struct rng *r, uint64_t seed, uint64_t idx)
{
	uint64_t x = seed ^ (idx * 0xd1342543de82ef95ULL);

	r->s = mix(&x);
	rnd(r);
}

/* ---------- failures ---------- */

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	size_t i, max = n < 128 ? n : 128;

	fprintf(stderr, "  %s (%zu bytes):", what, n);
	for (i = 0; i < max; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", p[i]);
	fprintf(stderr, "%s\n", n > max ? " ..." : "");
}

static void __attribute__((format(printf, 2, 3)))
bad(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	w->st->failures++;
	if (w->fails_logged++ >= MAX_FAIL_LOG && !cfg.verbose)
		return;
	fprintf(stderr, "FAIL %s case %" PRIu64 " (%s, %s): ",
		w->id < 0 ? "post-check" : "worker", w->idx,
		w->id >= 0 ? kind_name[w->kind] : w->what,
		w->role ? "nobody" : "root");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [replay: --seed 0x%" PRIx64 " --root %d --nobody %d --replay %" PRIu64 "]\n",
		cfg.seed, cfg.nroot, cfg.nnobody, w->idx);
}

static void count_errno(uint64_t *hist, int err)
{
	err = err < 0 ? -err : err;
	hist[err < NERR ? err : NERR]++;
}

/* ---------- building messages ---------- */

static bool room(struct buf *b, size_t n)
{
	return b->len + n <= b->cap;
}

static void put(struct buf *b, const void *d, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void pad4(struct buf *b)
{
	static const uint8_t zero[4];

	put(b, zero, NLMSG_ALIGN(b->len) - b->len);
}

static size_t msg_begin(struct buf *b, uint16_t type, uint16_t flags)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags };
	size_t off;

	pad4(b);
	off = b->len;
	put(b, &h, sizeof(h));
	return off;
}

static void msg_end(struct buf *b, size_t off)
{
	uint32_t len = b->len - off;

	if (off + sizeof(struct nlmsghdr) <= b->len)
		memcpy(b->p + off, &len, sizeof(len));
}

static void put_genl(struct buf *b, uint8_t cmd, uint8_t version, uint16_t reserved)
{
	struct genlmsghdr g = { .cmd = cmd, .version = version, .reserved = reserved };

	put(b, &g, sizeof(g));
}

static size_t attr_begin(struct buf *b, uint16_t type)
{
	struct nlattr a = { .nla_type = type };
	size_t off;

	pad4(b);
	off = b->len;
	put(b, &a, sizeof(a));
	return off;
}

static void attr_end(struct buf *b, size_t off)
{
	size_t len = b->len - off;
	uint16_t l = len > 0xffff ? 0xffff : len;

	if (off + sizeof(struct nlattr) <= b->len)
		memcpy(b->p + off, &l, sizeof(l));
}

static void put_attr(struct buf *b, uint16_t type, const void *d, size_t n)
{
	size_t off;

	if (!room(b, NLA_ALIGN(NLA_HDRLEN + n) + 3))
		return;
	off = attr_begin(b, type);
	put(b, d, n);
	attr_end(b, off);
	pad4(b);
}

static void put_str(struct buf *b, uint16_t type, const char *s)
{
	put_attr(b, type, s, strlen(s) + 1);
}

static void put_u32(struct buf *b, uint16_t type, uint32_t v)
{
	put_attr(b, type, &v, sizeof(v));
}

static void rand_bytes(struct rng *r, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = rnd(r);
}

/* ---------- device names ---------- */

static int find_dev(const char *name, size_t max)
{
	int i;

	for (i = 0; i < cfg.ndevs; i++)
		if (!strncmp(cfg.devs[i], name, max) &&
		    strnlen(cfg.devs[i], NAME_MAX_LEN) == strnlen(name, max))
			return i;
	return -1;
}

static int pick_dev(struct rng *r, bool stable)
{
	int i, n = 0, want;

	for (i = 0; i < cfg.ndevs; i++)
		n += stable ? !cfg.vol[i] : cfg.vol[i];
	if (!n)
		return -1;
	want = below(r, n);
	for (i = 0; i < cfg.ndevs; i++)
		if ((stable ? !cfg.vol[i] : cfg.vol[i]) && !want--)
			return i;
	return -1;
}

/*
 * A device name attribute's payload, and how long: known devices, absent
 * but well-formed addresses, mutated names, empty, long; with or without
 * the NUL, with bytes after it.
 */
static size_t gen_name(struct rng *r, uint8_t *out, size_t cap)
{
	size_t n = 0, i;
	int d;

	switch (below(r, 12)) {
	case 0: case 1: case 2: case 3: case 4:
		d = pick_dev(r, true);
		if (d < 0)
			d = pick_dev(r, false);
		if (d >= 0)
			n = snprintf((char *)out, cap, "%s", cfg.devs[d]) + 1;
		break;
	case 5:
		d = pick_dev(r, false);
		if (d >= 0)
			n = snprintf((char *)out, cap, "%s", cfg.devs[d]) + 1;
		break;
	case 6:
		n = snprintf((char *)out, cap, "%04x:%02x:%02x.%x", below(r, 3) ? 0 : below(r, 0x10000),
			     below(r, 256), below(r, 32), below(r, 8)) + 1;
		break;
	case 7:
		/* A known name, one byte changed or cut short. */
		d = cfg.ndevs ? (int)below(r, cfg.ndevs) : -1;
		if (d < 0)
			break;
		n = snprintf((char *)out, cap, "%s", cfg.devs[d]) + 1;
		if (chance(r, 50))
			out[below(r, n - 1)] = below(r, 256);
		else
			out[below(r, n)] = '\0';
		break;
	case 8:
		out[0] = '\0';
		n = chance(r, 80) ? 1 : 0;
		break;
	case 9: {
		/* Around the 63-character limit, or far past it. */
		static const size_t lens[] = { 62, 63, 64, 65, 127, 200, 1000 };

		n = lens[below(r, sizeof(lens) / sizeof(lens[0]))];
		if (n + 1 > cap)
			n = cap - 1;
		for (i = 0; i < n; i++)
			out[i] = 'a' + below(r, 26);
		out[n++] = '\0';
		break;
	}
	case 10:
		n = below(r, cap < 80 ? cap : 80);
		rand_bytes(r, out, n);
		break;
	default:
		d = pick_dev(r, true);
		if (d < 0)
			break;
		n = snprintf((char *)out, cap, "%s", cfg.devs[d]) + 1;
		break;
	}
	/* Sometimes no NUL at the end, or more bytes after it. */
	if (n && chance(r, 10))
		n--;
	else if (n && n + 8 < cap && chance(r, 10)) {
		size_t extra = 1 + below(r, 8);

		rand_bytes(r, out + n, extra);
		n += extra;
	}
	return n;
}

/* Random attributes: types, flags, payloads, nesting, lying lengths. */
static void gen_attrs(struct rng *r, struct buf *b, int depth)
{
	int n = below(r, depth ? 4 : 6), i;
	uint8_t tmp[1024];

	for (i = 0; i < n && room(b, 1200); i++) {
		uint16_t type;
		size_t off, len;

		switch (below(r, 10)) {
		case 0: case 1: case 2: case 3: case 4:
			type = VFIO_RELEASE_A_DEVICE;
			break;
		case 5:
			type = VFIO_RELEASE_A_PAD;
			break;
		case 6:
			type = 0;
			break;
		case 7:
			type = 3 + below(r, VFIO_RELEASE_A_MAX - 2);
			break;
		default:
			type = VFIO_RELEASE_A_MAX + 1 + below(r, chance(r, 50) ? 16 : 0x3fff);
			break;
		}
		if (chance(r, 15))
			type |= NLA_F_NESTED;
		if (chance(r, 8))
			type |= NLA_F_NET_BYTEORDER;
		off = attr_begin(b, type);
		if (depth < 4 && chance(r, 15)) {
			gen_attrs(r, b, depth + 1);
		} else {
			switch (below(r, 5)) {
			case 0: case 1:
				len = gen_name(r, tmp, sizeof(tmp));
				break;
			case 2:
				len = (const size_t[]){ 0, 1, 2, 4, 8 }[below(r, 5)];
				rand_bytes(r, tmp, len);
				break;
			case 3:
				len = below(r, 64);
				rand_bytes(r, tmp, len);
				break;
			default:
				len = gen_name(r, tmp, 64);
				break;
			}
			put(b, tmp, len);
		}
		attr_end(b, off);
		/* A length that lies. */
		if (chance(r, 8) && off + 4 <= b->len) {
			uint16_t l = (const uint16_t[]){ 0, 1, 3, 4, 5, 0xffff, 0x8000 }[below(r, 7)];

			if (chance(r, 40))
				l = (b->len - off) + 1 + below(r, 64);
			memcpy(b->p + off, &l, sizeof(l));
		}
		if (chance(r, 90))
			pad4(b);
	}
}

/* One GET (or dump) request, well-formed but for random choices. */
static void gen_get(struct rng *r, struct buf *b, bool dump, bool with_name)
{
	uint16_t flags = NLM_F_REQUEST;
	uint8_t tmp[128];
	size_t off, n;

	if (dump)
		flags |= NLM_F_DUMP;
	if (chance(r, 40))
		flags |= NLM_F_ACK;
	if (chance(r, 5))
		flags |= NLM_F_ECHO;
	off = msg_begin(b, cfg.fam, flags);
	put_genl(b, VFIO_RELEASE_CMD_GET_DEVICE,
		 chance(r, 90) ? VFIO_RELEASE_GENL_VERSION : below(r, 256), 0);
	if (with_name) {
		n = gen_name(r, tmp, sizeof(tmp));
		put_attr(b, VFIO_RELEASE_A_DEVICE, tmp, n);
	}
	msg_end(b, off);
}

static uint16_t unused_family(struct rng *r)
{
	for (;;) {
		uint16_t id = chance(r, 50) ? GENL_ID_CTRL + 1 + below(r, 64) :
					      GENL_ID_CTRL + 1 + below(r, 0xffff - GENL_ID_CTRL);
		int i;

		for (i = 0; i < cfg.nused && cfg.used_ids[i] != id; i++)
			;
		if (i == cfg.nused)
			return id;
	}
}

/* A controller request about our family (nothing that loads modules). */
static void gen_ctrl(struct rng *r, struct buf *b)
{
	uint16_t flags = NLM_F_REQUEST | (chance(r, 30) ? NLM_F_ACK : 0);
	uint8_t cmd;
	size_t off;

	switch (below(r, 6)) {
	case 0: case 1:
		cmd = CTRL_CMD_GETFAMILY;
		break;
	case 2: case 3:
		cmd = CTRL_CMD_GETPOLICY;
		flags |= NLM_F_DUMP;
		break;
	case 4:
		cmd = CTRL_CMD_GETFAMILY;
		flags |= NLM_F_DUMP;
		break;
	default:
		cmd = below(r, 16);
		if (chance(r, 50))
			flags |= NLM_F_DUMP;
		break;
	}
	off = msg_begin(b, GENL_ID_CTRL, flags);
	if (b->nctrl < (int)(sizeof(b->ctrl_off) / sizeof(b->ctrl_off[0])))
		b->ctrl_off[b->nctrl++] = off;
	put_genl(b, cmd, 1, 0);
	switch (below(r, 4)) {
	case 0:
		put_str(b, CTRL_ATTR_FAMILY_NAME, VFIO_RELEASE_GENL_NAME);
		break;
	case 1: {
		uint16_t id = chance(r, 70) ? cfg.fam : unused_family(r);

		put_attr(b, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
		break;
	}
	case 2:
		put_str(b, CTRL_ATTR_FAMILY_NAME, VFIO_RELEASE_GENL_NAME);
		put_u32(b, CTRL_ATTR_OP, below(r, 3) ? VFIO_RELEASE_CMD_GET_DEVICE : below(r, 16));
		break;
	default:
		break;
	}
	msg_end(b, off);
}

/* Unknown families, control message types, requests without NLM_F_REQUEST. */
static void gen_family(struct rng *r, struct buf *b)
{
	uint16_t type, flags = chance(r, 50) ? NLM_F_ACK : 0;
	size_t off;

	switch (below(r, 3)) {
	case 0:
		type = unused_family(r);
		flags |= NLM_F_REQUEST;
		break;
	case 1:
		type = below(r, NLMSG_MIN_TYPE);
		flags |= chance(r, 70) ? NLM_F_REQUEST : 0;
		break;
	default:
		type = cfg.fam;
		flags |= below(r, 0x10000) & ~NLM_F_REQUEST;
		break;
	}
	off = msg_begin(b, type, flags);
	put_genl(b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
	gen_attrs(r, b, 0);
	msg_end(b, off);
}

static void gen_cmd(struct rng *r, struct buf *b)
{
	uint16_t flags = NLM_F_REQUEST | (chance(r, 40) ? NLM_F_ACK : 0);
	uint8_t cmd;
	size_t off;

	do {
		cmd = chance(r, 60) ? below(r, VFIO_RELEASE_CMD_MAX + 3) : below(r, 256);
	} while (cmd == VFIO_RELEASE_CMD_GET_DEVICE);
	if (chance(r, 30))
		flags |= NLM_F_DUMP;
	off = msg_begin(b, cfg.fam, flags);
	put_genl(b, cmd, 1, 0);
	if (chance(r, 50)) {
		uint8_t tmp[128];

		put_attr(b, VFIO_RELEASE_A_DEVICE, tmp, gen_name(r, tmp, sizeof(tmp)));
	} else {
		gen_attrs(r, b, 0);
	}
	msg_end(b, off);
}

static void gen_flags(struct rng *r, struct buf *b)
{
	uint16_t flags;
	uint8_t tmp[128];
	size_t off;

	if (chance(r, 50)) {
		flags = below(r, 0x10000);
	} else {
		static const uint16_t bits[] = {
			NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO,
			NLM_F_DUMP_INTR, NLM_F_DUMP_FILTERED, NLM_F_ROOT,
			NLM_F_MATCH, NLM_F_ATOMIC, NLM_F_DUMP, NLM_F_REPLACE,
			NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND, NLM_F_NONREC,
			NLM_F_BULK, NLM_F_CAPPED, NLM_F_ACK_TLVS,
		};
		int i, n = 1 + below(r, 3);

		flags = NLM_F_REQUEST;
		for (i = 0; i < n; i++)
			flags |= bits[below(r, sizeof(bits) / sizeof(bits[0]))];
	}
	off = msg_begin(b, cfg.fam, flags);
	put_genl(b, chance(r, 90) ? VFIO_RELEASE_CMD_GET_DEVICE : below(r, 256), 1,
		 chance(r, 10) ? below(r, 0x10000) : 0);
	if (chance(r, 70))
		put_attr(b, VFIO_RELEASE_A_DEVICE, tmp, gen_name(r, tmp, sizeof(tmp)));
	msg_end(b, off);
}

static void gen_attrs_msg(struct rng *r, struct buf *b)
{
	uint16_t flags = NLM_F_REQUEST | (chance(r, 40) ? NLM_F_ACK : 0);
	size_t off;

	if (chance(r, 25))
		flags |= NLM_F_DUMP;
	off = msg_begin(b, cfg.fam, flags);
	put_genl(b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
	gen_attrs(r, b, 0);
	msg_end(b, off);
}

/* Headers cut short: netlink's (silence) and genetlink's (-EINVAL). */
static void gen_short(struct rng *r, struct buf *b)
{
	uint8_t m[32];
	struct nlmsghdr h = {
		.nlmsg_type = chance(r, 80) ? cfg.fam : unused_family(r),
		.nlmsg_flags = NLM_F_REQUEST | (chance(r, 50) ? NLM_F_ACK : 0),
	};
	size_t total = below(r, sizeof(m) + 1);

	rand_bytes(r, m, sizeof(m));
	h.nlmsg_len = chance(r, 50) ? NLMSG_HDRLEN + below(r, GENL_HDRLEN) : below(r, 24);
	if (chance(r, 60))
		total = h.nlmsg_len;
	if (total > sizeof(m))
		total = sizeof(m);
	if (chance(r, 50))
		m[NLMSG_HDRLEN] = VFIO_RELEASE_CMD_GET_DEVICE;
	memcpy(m, &h, total < sizeof(h) ? total : sizeof(h));
	put(b, m, total);
}

/* A request whose nlmsg_len or nla_len lies. */
static void gen_len(struct rng *r, struct buf *b)
{
	size_t start = b->len, off;
	uint32_t len;

	gen_get(r, b, chance(r, 25), true);
	off = start;
	memcpy(&len, b->p + off, sizeof(len));
	switch (below(r, 6)) {
	case 0:
		len += 1 + below(r, 100);	/* past the datagram */
		break;
	case 1:
		len = (const uint32_t[]){ 0xffffffff, 0x7fffffff, 0x10000, 0xffff }[below(r, 4)];
		break;
	case 2:
		if (len > GENL_ATTR_OFF)
			len = GENL_ATTR_OFF + below(r, len - GENL_ATTR_OFF);
		break;
	case 3: {
		/* Trailing bytes after the message: another header, or not. */
		uint8_t tail[40];
		size_t n = below(r, sizeof(tail));

		rand_bytes(r, tail, n);
		put(b, tail, n);
		break;
	}
	default: {
		/* The device attribute's own length. */
		uint16_t alen = (const uint16_t[]){ 0, 1, 2, 3, 4, 5, 0xffff, 8, 64, 65, 68 }[below(r, 11)];

		if (b->len >= off + GENL_ATTR_OFF + 4) {
			if (chance(r, 30))
				alen = b->len - off - GENL_ATTR_OFF + 1 + below(r, 8);
			memcpy(b->p + off + GENL_ATTR_OFF, &alen, sizeof(alen));
		}
		break;
	}
	}
	memcpy(b->p + off, &len, sizeof(len));
}

/* One or more valid requests, then bytes flipped, set, cut or inserted. */
static void gen_mutate(struct rng *r, struct buf *b)
{
	size_t start = b->len;
	int i, n = 1 + below(r, 3);

	for (i = 0; i < n; i++)
		gen_get(r, b, chance(r, 20), chance(r, 90));
	n = 1 + below(r, 6);
	for (i = 0; i < n && b->len > start; i++) {
		size_t len = b->len - start, at = start + below(r, len);

		switch (below(r, 7)) {
		case 0:
			b->p[at] ^= 1 << below(r, 8);
			break;
		case 1:
			b->p[at] = rnd(r);
			break;
		case 2: {
			static const uint32_t v[] = { 0, 1, 3, 4, 15, 16, 19, 20, 21, 24,
						      0xff, 0xffff, 0x10000, 0xffffffff };
			uint32_t x = v[below(r, sizeof(v) / sizeof(v[0]))];

			at = start + (below(r, len) & ~3u);
			if (at + 4 <= b->len)
				memcpy(b->p + at, &x, chance(r, 50) ? 2 : 4);
			break;
		}
		case 3:
			b->len = start + below(r, len);
			break;
		case 4: {
			size_t k = 1 + below(r, 8);

			if (room(b, k)) {
				memmove(b->p + at + k, b->p + at, b->len - at);
				rand_bytes(r, b->p + at, k);
				b->len += k;
			}
			break;
		}
		case 5: {
			size_t k = 1 + below(r, 8);

			if (at + k <= b->len) {
				memmove(b->p + at, b->p + at + k, b->len - at - k);
				b->len -= k;
			}
			break;
		}
		default: {
			uint8_t tail[16];
			size_t k = below(r, sizeof(tail));

			rand_bytes(r, tail, k);
			put(b, tail, k);
			break;
		}
		}
	}
}

static void gen_garbage(struct rng *r, struct buf *b)
{
	size_t n = chance(r, 5) ? below(r, 16384) : below(r, 600);
	size_t off;

	if (!room(b, n + 64))
		return;
	if (chance(r, 50)) {
		/* A plausible header, then noise. */
		off = msg_begin(b, cfg.fam, NLM_F_REQUEST | (chance(r, 50) ? NLM_F_ACK : 0));
		rand_bytes(r, b->p + b->len, n);
		b->len += n;
		if (chance(r, 80))
			msg_end(b, off);
	} else {
		rand_bytes(r, b->p + b->len, n);
		b->len += n;
	}
}

static void gen_one(struct rng *r, struct buf *b, int k)
{
	switch (k) {
	case K_GET:
		gen_get(r, b, false, chance(r, 95));
		break;
	case K_DUMP:
		gen_get(r, b, true, chance(r, 20));
		break;
	case K_FLAGS:
		gen_flags(r, b);
		break;
	case K_ATTRS:
		gen_attrs_msg(r, b);
		break;
	case K_CMD:
		gen_cmd(r, b);
		break;
	case K_SHORT:
		gen_short(r, b);
		break;
	case K_LEN:
		gen_len(r, b);
		break;
	case K_MUTATE:
		gen_mutate(r, b);
		break;
	case K_GARBAGE:
		gen_garbage(r, b);
		break;
	case K_CTRL:
		gen_ctrl(r, b);
		break;
	default:
		gen_family(r, b);
		break;
	}
}

/* ---------- the kernel's reading of a datagram ---------- */

static bool trusted_ctrl(const struct buf *b, size_t off)
{
	int i;

	for (i = 0; i < b->nctrl; i++)
		if (b->ctrl_off[i] == off)
			return true;
	return false;
}

static bool used_family(uint16_t type)
{
	int i;

	for (i = 0; i < cfg.nused; i++)
		if (cfg.used_ids[i] == type)
			return true;
	return false;
}

/*
 * The GET policy under strict validation (lib/nlattr.c, validate_nla and
 * __nla_validate_parse with NL_VALIDATE_STRICT): 0, -EINVAL or -ERANGE;
 * *name is the last A_DEVICE's payload, NULL when there is none.
 */
static int model_attrs(const uint8_t *p, int rem, const char **name, size_t *name_max)
{
	*name = NULL;
	while (rem >= NLA_HDRLEN) {
		struct nlattr a;
		int type, dlen, minlen, slen;
		const uint8_t *d;

		memcpy(&a, p, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > rem)
			break;
		type = a.nla_type & NLA_TYPE_MASK;
		if (type == 0 || type > VFIO_RELEASE_A_DEVICE)
			return -EINVAL;		/* unknown attribute type */
		if (type == VFIO_RELEASE_A_PAD)
			return -EINVAL;		/* NLA_UNSPEC in the policy */
		if (a.nla_type & NLA_F_NESTED)
			return -EINVAL;		/* NLA_F_NESTED not expected */
		dlen = a.nla_len - NLA_HDRLEN;
		d = p + NLA_HDRLEN;
		minlen = dlen < NAME_MAX_LEN ? dlen : NAME_MAX_LEN;
		if (!minlen || !memchr(d, '\0', minlen))
			return -EINVAL;
		slen = d[dlen - 1] == '\0' ? dlen - 1 : dlen;
		if (slen > NAME_MAX_LEN - 1)
			return -ERANGE;
		*name = (const char *)d;
		*name_max = minlen;
		p += NLA_ALIGN(a.nla_len);
		rem -= NLA_ALIGN(a.nla_len);
	}
	return rem > 0 ? -EINVAL : 0;
}

/* What the kernel answers to message m (len bytes), sent by this worker. */
static void model(struct worker *w, struct pend *p, const uint8_t *m, uint32_t len,
		  bool dump_running)
{
	struct nlmsghdr h;
	struct genlmsghdr g;
	const char *name;
	size_t name_max = 0;
	uint16_t flags;
	int err;

	memcpy(&h, m, sizeof(h));
	p->exp = EXP_ERR;
	p->dev = -1;
	p->is_dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	if (!(h.nlmsg_flags & NLM_F_REQUEST) || h.nlmsg_type < NLMSG_MIN_TYPE) {
		p->exp = EXP_ACK;
		return;
	}
	if (h.nlmsg_type == GENL_ID_CTRL) {
		p->exp = EXP_CTRL;
		return;
	}
	if (h.nlmsg_type != cfg.fam) {
		p->want = -ENOENT;
		return;
	}
	p->want = -EINVAL;
	if (len < NLMSG_HDRLEN + GENL_HDRLEN)
		return;
	memcpy(&g, m + NLMSG_HDRLEN, sizeof(g));
	flags = h.nlmsg_flags;
	if (p->is_dump)
		flags &= ~NLM_F_DUMP;
	if (g.reserved || (flags & ~(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO)))
		return;
	if (g.cmd != VFIO_RELEASE_CMD_GET_DEVICE) {
		p->want = -EOPNOTSUPP;
		return;
	}
	if (w->role) {
		p->want = -EPERM;
		return;
	}
	/* A second dump on a socket is refused before its attributes are read. */
	p->busy_ok = p->is_dump && dump_running;
	err = len < GENL_ATTR_OFF ? 0 :
	      model_attrs(m + GENL_ATTR_OFF, len - GENL_ATTR_OFF, &name, &name_max);
	if (len < GENL_ATTR_OFF)
		name = NULL;
	if (err) {
		p->want = err;
		return;
	}
	if (p->is_dump) {
		p->exp = EXP_DUMP;
		p->eagain_ok = true;
		p->busy_ok = dump_running;
		return;
	}
	if (!name)
		return;		/* -EINVAL: no A_DEVICE */
	p->eagain_ok = true;
	p->dev = find_dev(name, name_max);
	if (p->dev < 0) {
		p->want = -ENODEV;
		return;
	}
	p->exp = EXP_RECORD;
	p->enodev_ok = cfg.vol[p->dev];
}

/*
 * Walks datagram b as netlink_rcv_skb does: numbers each message it will
 * parse (fresh sequence numbers), keeps nothing addressed to another
 * existing family, and predicts the answers. Returns how many bytes to
 * send (the datagram is cut after MAX_PEND messages).
 */
static size_t plan(struct worker *w, struct round *rd, struct buf *b)
{
	static uint32_t seq = 1;
	size_t off = 0, len = b->len;
	bool dump_running = rd->s->dump_open;
	uint8_t *copy;

	if (rd->stored + len > 2 * SEND_MAX)
		rd->stored = 0;		/* only pendings of this round point here */
	copy = rd->store + rd->stored;
	while (len - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		struct pend *p;

		memcpy(&h, b->p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || len - off < h.nlmsg_len)
			break;
		if (rd->np == MAX_PEND) {
			len = off;
			break;
		}
		/*
		 * Nothing for another family; the controller only gets what
		 * gen_ctrl made (a random family name would load modules).
		 */
		if (h.nlmsg_type >= NLMSG_MIN_TYPE && h.nlmsg_type != cfg.fam &&
		    (h.nlmsg_type == GENL_ID_CTRL || used_family(h.nlmsg_type)) &&
		    !(h.nlmsg_type == GENL_ID_CTRL && trusted_ctrl(b, off)))
			h.nlmsg_type = cfg.fam;
		if (++seq == 0)
			seq = 1;
		h.nlmsg_seq = seq;
		memcpy(b->p + off, &h, sizeof(h));
		p = &rd->p[rd->np++];
		memset(p, 0, sizeof(*p));
		p->seq = seq;
		p->type = h.nlmsg_type;
		p->flags = h.nlmsg_flags;
		p->len = h.nlmsg_len;
		p->sent = copy + off;
		p->seen = rd->seen + (size_t)(p - rd->p) * MAX_DEVS;
		memset(p->seen, 0, cfg.ndevs * sizeof(*p->seen));
		model(w, p, b->p + off, h.nlmsg_len, dump_running);
		if (p->is_dump && (h.nlmsg_type == cfg.fam || h.nlmsg_type == GENL_ID_CTRL) &&
		    p->exp != EXP_ACK)
			dump_running = true;
		off += NLMSG_ALIGN(h.nlmsg_len) < len - off ? NLMSG_ALIGN(h.nlmsg_len) : len - off;
	}
	memcpy(copy, b->p, len);
	rd->stored += len;
	return len;
}

/* ---------- sockets ---------- */

static const struct sockaddr_nl kernel_addr = { .nl_family = AF_NETLINK };

static int nls_open(struct worker *w, struct nls *s, int rcvbuf)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s->fd < 0)
		return -errno;
	if (rcvbuf > 0 &&
	    (w->role || setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf))))
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen)) {
		int err = -errno;

		close(s->fd);
		s->fd = -1;
		return err;
	}
	s->portid = a.nl_pid;
	return 0;
}

static void nls_close(struct nls *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void set_flag(struct worker *w, struct nls *s, int opt, bool on, bool *state)
{
	int v = on;

	if (setsockopt(s->fd, SOL_NETLINK, opt, &v, sizeof(v))) {
		count_errno(w->st->sockopt_err, errno);
		bad(w, "setsockopt(SOL_NETLINK, %d, %d): %s", opt, v, strerror(errno));
		return;
	}
	if (state)
		*state = on;
}

/* ---------- checking replies ---------- */

enum atype { T_NONE, T_PAD, T_STR, T_U16, T_U32, T_U64 };

static const uint8_t attr_type[VFIO_RELEASE_A_MAX + 1] = {
	[VFIO_RELEASE_A_PAD] = T_PAD,
	[VFIO_RELEASE_A_DEVICE] = T_STR,
	[VFIO_RELEASE_A_SUBSYSTEM] = T_STR,
	[VFIO_RELEASE_A_PCI_VENDOR] = T_U16,
	[VFIO_RELEASE_A_PCI_DEVICE] = T_U16,
	[VFIO_RELEASE_A_IOMMU_GROUP] = T_U32,
	[VFIO_RELEASE_A_DRIVER] = T_STR,
	[VFIO_RELEASE_A_STATE] = T_U32,
	[VFIO_RELEASE_A_RESET] = T_U32,
	[VFIO_RELEASE_A_CLOSE_NS] = T_U64,
	[VFIO_RELEASE_A_TIMESTAMP_NS] = T_U64,
	[VFIO_RELEASE_A_SEQ] = T_U64,
	[VFIO_RELEASE_A_GENERATION] = T_U64,
	[VFIO_RELEASE_A_PID] = T_U32,
	[VFIO_RELEASE_A_COMM] = T_STR,
	[VFIO_RELEASE_A_OPEN_COUNT] = T_U64,
	[VFIO_RELEASE_A_RELEASE_COUNT] = T_U64,
	[VFIO_RELEASE_A_FREE_COUNT] = T_U64,
	[VFIO_RELEASE_A_RESYNC_REASON] = T_U32,
	[VFIO_RELEASE_A_LOST] = T_U64,
	[VFIO_RELEASE_A_INSTANCE] = T_U64,
	[VFIO_RELEASE_A_REGISTRATION] = T_U64,
	[VFIO_RELEASE_A_OPENER_PID] = T_U32,
	[VFIO_RELEASE_A_OPENER_COMM] = T_STR,
};

#define BIT(a) (1ULL << (a))
/* A device record (GET replies, device notifications). */
#define REC_REQUIRED (BIT(VFIO_RELEASE_A_INSTANCE) | BIT(VFIO_RELEASE_A_DEVICE) | \
	BIT(VFIO_RELEASE_A_SUBSYSTEM) | BIT(VFIO_RELEASE_A_DRIVER) | \
	BIT(VFIO_RELEASE_A_STATE) | BIT(VFIO_RELEASE_A_RESET) | \
	BIT(VFIO_RELEASE_A_TIMESTAMP_NS) | BIT(VFIO_RELEASE_A_SEQ) | \
	BIT(VFIO_RELEASE_A_GENERATION) | BIT(VFIO_RELEASE_A_OPEN_COUNT) | \
	BIT(VFIO_RELEASE_A_RELEASE_COUNT) | BIT(VFIO_RELEASE_A_FREE_COUNT) | \
	BIT(VFIO_RELEASE_A_REGISTRATION))
#define REC_OPTIONAL (BIT(VFIO_RELEASE_A_PAD) | BIT(VFIO_RELEASE_A_PCI_VENDOR) | \
	BIT(VFIO_RELEASE_A_PCI_DEVICE) | BIT(VFIO_RELEASE_A_IOMMU_GROUP) | \
	BIT(VFIO_RELEASE_A_CLOSE_NS) | BIT(VFIO_RELEASE_A_PID) | \
	BIT(VFIO_RELEASE_A_COMM) | BIT(VFIO_RELEASE_A_OPENER_PID) | \
	BIT(VFIO_RELEASE_A_OPENER_COMM))
#define GROUP_ATTRS (BIT(VFIO_RELEASE_A_INSTANCE) | BIT(VFIO_RELEASE_A_IOMMU_GROUP) | \
	BIT(VFIO_RELEASE_A_TIMESTAMP_NS) | BIT(VFIO_RELEASE_A_SEQ))
#define RESYNC_ATTRS (BIT(VFIO_RELEASE_A_INSTANCE) | BIT(VFIO_RELEASE_A_RESYNC_REASON) | \
	BIT(VFIO_RELEASE_A_LOST) | BIT(VFIO_RELEASE_A_TIMESTAMP_NS) | BIT(VFIO_RELEASE_A_SEQ))

/*
 * Parses a family message's attributes (after the genetlink header) for
 * command cmd; NULL when well-formed, else what is wrong.
 */
static const char *parse_record(uint8_t cmd, const uint8_t *p, int rem, struct rec *rc)
{
	static char why[160];
	uint64_t seen = 0, required, allowed;

	memset(rc, 0, sizeof(*rc));
	while (rem >= NLA_HDRLEN) {
		struct nlattr a;
		int type, dlen;
		const uint8_t *d = p + NLA_HDRLEN;

		memcpy(&a, p, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > rem)
			return "attribute length out of the message";
		type = a.nla_type;
		dlen = a.nla_len - NLA_HDRLEN;
		if (type <= 0 || type > VFIO_RELEASE_A_MAX) {
			snprintf(why, sizeof(why), "attribute type %d (flags included) unknown", type);
			return why;
		}
		if (type != VFIO_RELEASE_A_PAD && (seen & BIT(type))) {
			snprintf(why, sizeof(why), "attribute %d twice", type);
			return why;
		}
		seen |= BIT(type);
		rc->has[type] = true;
		switch (attr_type[type]) {
		case T_PAD:
			if (dlen)
				return "pad attribute with a payload";
			break;
		case T_STR:
			if (dlen < 1 || d[dlen - 1] != '\0' || strlen((const char *)d) != (size_t)dlen - 1) {
				snprintf(why, sizeof(why), "string attribute %d not one NUL-terminated string", type);
				return why;
			}
			if (type == VFIO_RELEASE_A_DEVICE && dlen > NAME_MAX_LEN)
				return "device name longer than VFIO_RELEASE_DEVICE_NAME_MAX";
			if ((type == VFIO_RELEASE_A_COMM || type == VFIO_RELEASE_A_OPENER_COMM) && dlen > 16)
				return "comm longer than 15 characters";
			if (type == VFIO_RELEASE_A_DEVICE)
				rc->name = (const char *)d;
			break;
		case T_U16:
		case T_U32:
		case T_U64: {
			int want = attr_type[type] == T_U16 ? 2 : attr_type[type] == T_U32 ? 4 : 8;
			uint64_t v = 0;

			if (dlen != want) {
				snprintf(why, sizeof(why), "attribute %d is %d bytes, not %d", type, dlen, want);
				return why;
			}
			memcpy(&v, d, want);
			rc->u[type] = v;
			break;
		}
		default:
			return "attribute type without a meaning";
		}
		p += NLA_ALIGN(a.nla_len);
		rem -= NLA_ALIGN(a.nla_len);
	}
	if (rem > 0)
		return "bytes left after the last attribute";

	switch (cmd) {
	case VFIO_RELEASE_CMD_GROUP_RELEASED:
	case VFIO_RELEASE_CMD_GROUP_CLAIMED:
		required = GROUP_ATTRS;
		allowed = GROUP_ATTRS | BIT(VFIO_RELEASE_A_PAD);
		break;
	case VFIO_RELEASE_CMD_RESYNC:
		required = RESYNC_ATTRS;
		allowed = RESYNC_ATTRS | BIT(VFIO_RELEASE_A_PAD);
		if (rc->u[VFIO_RELEASE_A_RESYNC_REASON] > VFIO_RELEASE_RESYNC_REARMED)
			return "resync reason out of range";
		break;
	default:
		required = REC_REQUIRED;
		allowed = REC_REQUIRED | REC_OPTIONAL;
		if (rc->u[VFIO_RELEASE_A_STATE] > VFIO_RELEASE_STATE_FREE)
			return "state out of range";
		if (rc->u[VFIO_RELEASE_A_RESET] > VFIO_RELEASE_RESET_BUS)
			return "reset outcome out of range";
		/* A close seen: its time, task and comm, all three. */
		if (!!rc->u[VFIO_RELEASE_A_RELEASE_COUNT] != rc->has[VFIO_RELEASE_A_CLOSE_NS] ||
		    rc->has[VFIO_RELEASE_A_CLOSE_NS] != rc->has[VFIO_RELEASE_A_PID] ||
		    rc->has[VFIO_RELEASE_A_PID] != rc->has[VFIO_RELEASE_A_COMM])
			return "close time, pid and comm not with a release count";
		if (rc->has[VFIO_RELEASE_A_OPENER_PID] != rc->has[VFIO_RELEASE_A_OPENER_COMM])
			return "opener pid without comm or the reverse";
		if (rc->has[VFIO_RELEASE_A_PCI_VENDOR] != rc->has[VFIO_RELEASE_A_PCI_DEVICE])
			return "PCI vendor without device or the reverse";
		break;
	}
	if ((seen & required) != required) {
		snprintf(why, sizeof(why), "attributes missing: mask 0x%" PRIx64, required & ~seen);
		return why;
	}
	if (seen & ~allowed) {
		snprintf(why, sizeof(why), "attributes that do not belong: mask 0x%" PRIx64, seen & ~allowed);
		return why;
	}
	if (rc->u[VFIO_RELEASE_A_INSTANCE] != cfg.instance) {
		snprintf(why, sizeof(why), "instance 0x%" PRIx64 ", not 0x%" PRIx64 " (module reloaded?)",
			 rc->u[VFIO_RELEASE_A_INSTANCE], cfg.instance);
		return why;
	}
	return NULL;
}

/* Records of one device, in the order they were made, never go back. */
static void check_monotonic(struct worker *w, int dev, const struct rec *rc)
{
	struct devstate *d = &w->ds[dev];
	uint64_t reg = rc->u[VFIO_RELEASE_A_REGISTRATION];

	if (d->seen) {
		if (reg < d->registration || rc->u[VFIO_RELEASE_A_GENERATION] < d->generation)
			bad(w, "%s: registration %" PRIu64 " generation %" PRIu64 " after %" PRIu64 "/%" PRIu64,
			    cfg.devs[dev], reg, rc->u[VFIO_RELEASE_A_GENERATION], d->registration, d->generation);
		if (reg == d->registration &&
		    (rc->u[VFIO_RELEASE_A_SEQ] < d->seq || rc->u[VFIO_RELEASE_A_OPEN_COUNT] < d->opens ||
		     rc->u[VFIO_RELEASE_A_RELEASE_COUNT] < d->releases ||
		     rc->u[VFIO_RELEASE_A_FREE_COUNT] < d->frees))
			bad(w, "%s: seq/opens/releases/frees %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
			    " went back from %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, cfg.devs[dev],
			    rc->u[VFIO_RELEASE_A_SEQ], rc->u[VFIO_RELEASE_A_OPEN_COUNT],
			    rc->u[VFIO_RELEASE_A_RELEASE_COUNT], rc->u[VFIO_RELEASE_A_FREE_COUNT],
			    d->seq, d->opens, d->releases, d->frees);
	}
	d->seen = true;
	d->registration = reg;
	d->generation = rc->u[VFIO_RELEASE_A_GENERATION];
	d->seq = rc->u[VFIO_RELEASE_A_SEQ];
	d->opens = rc->u[VFIO_RELEASE_A_OPEN_COUNT];
	d->releases = rc->u[VFIO_RELEASE_A_RELEASE_COUNT];
	d->frees = rc->u[VFIO_RELEASE_A_FREE_COUNT];
}

/* Extended ack attributes, from p to the end of the message. */
static void check_tlvs(struct worker *w, const struct pend *p, const uint8_t *t, int rem, int err)
{
	while (rem >= NLA_HDRLEN) {
		struct nlattr a;
		int dlen;
		uint32_t v = 0;
		const uint8_t *d = t + NLA_HDRLEN;

		memcpy(&a, t, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > rem) {
			bad(w, "extended ack: attribute length %u out of the message", a.nla_len);
			return;
		}
		dlen = a.nla_len - NLA_HDRLEN;
		if (dlen == 4)
			memcpy(&v, d, 4);
		switch (a.nla_type & NLA_TYPE_MASK) {
		case NLMSGERR_ATTR_MSG:
			if (dlen < 1 || d[dlen - 1] != '\0')
				bad(w, "extended ack: message not NUL-terminated");
			break;
		case NLMSGERR_ATTR_OFFS:
		case NLMSGERR_ATTR_MISS_NEST:
			if (dlen != 4 || v < NLMSG_HDRLEN || v >= p->len)
				bad(w, "extended ack: offset %u (%d bytes) outside the request of %u bytes",
				    v, dlen, p->len);
			/* The module names its device attribute when it is absent. */
			else if (a.nla_type == NLMSGERR_ATTR_OFFS && err == -ENODEV && p->type == cfg.fam) {
				struct nlattr at = { 0 };

				if (v + NLA_HDRLEN <= p->len)
					memcpy(&at, p->sent + v, sizeof(at));
				if ((at.nla_type & NLA_TYPE_MASK) != VFIO_RELEASE_A_DEVICE)
					bad(w, "extended ack: -ENODEV points at offset %u, not at A_DEVICE", v);
			}
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (dlen != 4)
				bad(w, "extended ack: missing type of %d bytes", dlen);
			else if (p->type == cfg.fam && p->exp == EXP_ERR && err == -EINVAL &&
				 v != VFIO_RELEASE_A_DEVICE)
				bad(w, "extended ack: missing attribute %u, not A_DEVICE", v);
			break;
		case NLMSGERR_ATTR_COOKIE:
			if (dlen > 20)
				bad(w, "extended ack: cookie of %d bytes", dlen);
			break;
		case NLMSGERR_ATTR_POLICY:
			break;
		default:
			bad(w, "extended ack: attribute type %u", a.nla_type);
			break;
		}
		t += NLA_ALIGN(a.nla_len);
		rem -= NLA_ALIGN(a.nla_len);
	}
	if (rem > 0)
		bad(w, "extended ack: %d bytes left after the last attribute", rem);
}

static struct pend *find_pend(struct round *rd, uint32_t seq)
{
	int i;

	for (i = 0; i < rd->np; i++)
		if (rd->p[i].seq == seq)
			return &rd->p[i];
	return NULL;
}

static void on_event(struct worker *w, struct nls *s, const struct nlmsghdr *h)
{
	const uint8_t *m = (const uint8_t *)h;
	struct genlmsghdr g;
	struct rec rc;
	const char *why;

	if (h->nlmsg_type != cfg.fam) {
		w->st->foreign++;	/* another family's group joined at random */
		return;
	}
	if (w->role) {
		bad(w, "user nobody received an event of the family");
		return;
	}
	if (h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
		bad(w, "event shorter than its genetlink header");
		return;
	}
	memcpy(&g, m + NLMSG_HDRLEN, sizeof(g));
	if (g.cmd < VFIO_RELEASE_CMD_DEVICE_OPENED || g.cmd > VFIO_RELEASE_CMD_MAX ||
	    g.version != VFIO_RELEASE_GENL_VERSION || g.reserved) {
		bad(w, "event with cmd %u version %u reserved %u", g.cmd, g.version, g.reserved);
		return;
	}
	why = parse_record(g.cmd, m + GENL_ATTR_OFF, h->nlmsg_len - GENL_ATTR_OFF, &rc);
	if (why) {
		bad(w, "event cmd %u malformed: %s", g.cmd, why);
		hexdump("event", m, h->nlmsg_len);
		return;
	}
	if (rc.u[VFIO_RELEASE_A_SEQ] <= s->ev_seq)
		bad(w, "event seq %" PRIu64 " after %" PRIu64, rc.u[VFIO_RELEASE_A_SEQ], s->ev_seq);
	s->ev_seq = rc.u[VFIO_RELEASE_A_SEQ];
	w->st->events++;
}

static void on_message(struct worker *w, struct round *rd, const struct nlmsghdr *h)
{
	const uint8_t *m = (const uint8_t *)h;
	struct nls *s = rd->s;
	struct pend *p;

	if (h->nlmsg_pid == 0 && h->nlmsg_seq == 0 && !(h->nlmsg_flags & NLM_F_MULTI) &&
	    h->nlmsg_type != NLMSG_ERROR && h->nlmsg_type != NLMSG_DONE) {
		on_event(w, s, h);
		return;
	}
	if (h->nlmsg_pid != s->portid) {
		bad(w, "reply for port %u on socket %u", h->nlmsg_pid, s->portid);
		return;
	}
	p = find_pend(rd, h->nlmsg_seq);
	if (!p) {
		bad(w, "reply (type %u) to no message the kernel parsed (seq %u)", h->nlmsg_type,
		    h->nlmsg_seq);
		hexdump("reply", m, h->nlmsg_len);
		return;
	}

	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr e;
		bool capped = h->nlmsg_flags & NLM_F_CAPPED;
		size_t at = NLMSG_HDRLEN + sizeof(e);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(e))) {
			bad(w, "error message of %u bytes", h->nlmsg_len);
			return;
		}
		memcpy(&e, m + NLMSG_HDRLEN, sizeof(e));
		if (e.error > 0 || e.error < -4095) {
			bad(w, "error %d is not a negative errno", e.error);
			return;
		}
		if (memcmp(&e.msg, p->sent, sizeof(e.msg)))
			bad(w, "error does not echo the request's header");
		if (!e.error && !capped)
			bad(w, "ack not marked NLM_F_CAPPED");
		if (e.error && capped != s->cap_ack)
			bad(w, "error %scapped on a socket with NETLINK_CAP_ACK %s",
			    capped ? "" : "not ", s->cap_ack ? "on" : "off");
		if (!capped) {
			size_t n = p->len - NLMSG_HDRLEN;

			if (h->nlmsg_len < at + n)
				bad(w, "error echoes %u bytes of a request of %u", h->nlmsg_len, p->len);
			else if (memcmp(m + at, p->sent + NLMSG_HDRLEN, n))
				bad(w, "error echoes the request wrongly");
			at += NLMSG_ALIGN(n);
		}
		if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
			if (!s->ext_ack)
				bad(w, "extended ack on a socket without NETLINK_EXT_ACK");
			if (at <= h->nlmsg_len)
				check_tlvs(w, p, m + at, h->nlmsg_len - at, e.error);
		}
		count_errno(w->st->err, e.error);
		if (e.error) {
			p->n_err++;
			p->err = e.error;
			if (e.error == -EPERM)
				w->st->eperm++;
		} else {
			p->n_ack++;
		}
		return;
	}
	if (h->nlmsg_type == NLMSG_DONE) {
		int err;

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)) || !(h->nlmsg_flags & NLM_F_MULTI)) {
			bad(w, "NLMSG_DONE of %u bytes, flags 0x%x", h->nlmsg_len, h->nlmsg_flags);
			return;
		}
		memcpy(&err, m + NLMSG_HDRLEN, sizeof(err));
		if (err > 0 || err < -4095)
			bad(w, "NLMSG_DONE carries %d", err);
		if ((h->nlmsg_flags & NLM_F_ACK_TLVS) && !s->ext_ack)
			bad(w, "extended ack on a socket without NETLINK_EXT_ACK");
		if (h->nlmsg_flags & NLM_F_ACK_TLVS)
			check_tlvs(w, p, m + NLMSG_LENGTH(sizeof(int)),
				   h->nlmsg_len - NLMSG_LENGTH(sizeof(int)), err);
		count_errno(w->st->done_err, err);
		w->st->dones++;
		p->n_done++;
		p->done_err = err;
		return;
	}
	if (h->nlmsg_type == GENL_ID_CTRL && p->type == GENL_ID_CTRL) {
		struct genlmsghdr g;
		const uint8_t *a = m + GENL_ATTR_OFF;
		int rem = (int)h->nlmsg_len - GENL_ATTR_OFF;
		uint16_t id = 0;
		bool named = false;

		if (h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
			bad(w, "controller reply shorter than its header");
			return;
		}
		memcpy(&g, m + NLMSG_HDRLEN, sizeof(g));
		while (rem >= NLA_HDRLEN) {
			struct nlattr na;

			memcpy(&na, a, sizeof(na));
			if (na.nla_len < NLA_HDRLEN || na.nla_len > rem)
				break;
			if (na.nla_type == CTRL_ATTR_FAMILY_ID && na.nla_len == NLA_HDRLEN + 2)
				memcpy(&id, a + NLA_HDRLEN, 2);
			if (na.nla_type == CTRL_ATTR_FAMILY_NAME &&
			    na.nla_len == NLA_HDRLEN + sizeof(VFIO_RELEASE_GENL_NAME) &&
			    !memcmp(a + NLA_HDRLEN, VFIO_RELEASE_GENL_NAME, sizeof(VFIO_RELEASE_GENL_NAME)))
				named = true;
			a += NLA_ALIGN(na.nla_len);
			rem -= NLA_ALIGN(na.nla_len);
		}
		if (rem > 0)
			bad(w, "controller reply: %d bytes left after the last attribute", rem);
		if (g.cmd == CTRL_CMD_NEWFAMILY && named && id != cfg.fam)
			bad(w, "the controller says family id %u, not %u", id, cfg.fam);
		w->st->ctrl_replies++;
		p->n_rec++;
		if (h->nlmsg_flags & NLM_F_MULTI)
			p->n_multi++;
		return;
	}
	if (h->nlmsg_type == cfg.fam && p->type == cfg.fam) {
		struct genlmsghdr g;
		struct rec rc;
		const char *why;
		int d;

		if (w->role) {
			bad(w, "user nobody received a device record");
			return;
		}
		if (h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
			bad(w, "reply shorter than its genetlink header");
			return;
		}
		memcpy(&g, m + NLMSG_HDRLEN, sizeof(g));
		if (g.cmd != VFIO_RELEASE_CMD_GET_DEVICE || g.version != VFIO_RELEASE_GENL_VERSION ||
		    g.reserved) {
			bad(w, "reply with cmd %u version %u reserved %u", g.cmd, g.version, g.reserved);
			return;
		}
		why = parse_record(g.cmd, m + GENL_ATTR_OFF, h->nlmsg_len - GENL_ATTR_OFF, &rc);
		if (why) {
			bad(w, "record malformed: %s", why);
			hexdump("reply", m, h->nlmsg_len);
			return;
		}
		w->st->records++;
		p->n_rec++;
		if (h->nlmsg_flags & NLM_F_MULTI)
			p->n_multi++;
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			w->st->dump_intr++;
		d = find_dev(rc.name, NAME_MAX_LEN);
		if (d < 0) {
			bad(w, "record of %s, a device not seen at start", rc.name);
			return;
		}
		if (p->dev == d)
			p->named_ok = true;
		if (p->is_dump && p->seen[d] < 0xffff)
			p->seen[d]++;
		if (rd->monotonic)
			check_monotonic(w, d, &rc);
		return;
	}
	bad(w, "reply of type %u flags 0x%x to a message of type %u", h->nlmsg_type, h->nlmsg_flags,
	    p->type);
}

static void on_datagram(struct worker *w, struct round *rd, const uint8_t *buf, size_t n)
{
	size_t off = 0;

	w->st->dump_parts++;
	while (n - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > n - off) {
			bad(w, "reply framing: nlmsg_len %u with %zu bytes left", h.nlmsg_len, n - off);
			return;
		}
		if (cfg.verbose)
			fprintf(stderr, "  recv type %u flags 0x%x seq %u len %u%s\n", h.nlmsg_type,
				h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_len,
				h.nlmsg_type == NLMSG_ERROR ? " (error/ack)" : "");
		/* Aligned copy: the receive buffer is, and so is every message. */
		on_message(w, rd, (const struct nlmsghdr *)(buf + off));
		off += NLMSG_ALIGN(h.nlmsg_len) < n - off ? NLMSG_ALIGN(h.nlmsg_len) : n - off;
	}
	if (off != n)
		bad(w, "reply datagram: %zu bytes after the last message", n - off);
}

/* A message whose answer is not over yet: a dump without its DONE. */
static bool pend_open(const struct pend *p)
{
	return p->is_dump && (p->type == cfg.fam || p->type == GENL_ID_CTRL) &&
	       p->exp != EXP_ACK && !p->n_done && !p->n_err;
}

static bool round_open(const struct round *rd)
{
	int i;

	if (rd->lossy)
		return false;
	for (i = 0; i < rd->np; i++)
		if (pend_open(&rd->p[i]))
			return true;
	return false;
}

/*
 * Reads one datagram: 1 read, 0 nothing there (after waiting up to
 * wait_ms), -1 the socket failed. recv_len: the buffer offered.
 */
static int read_one(struct worker *w, struct round *rd, int wait_ms, size_t recv_len)
{
	struct sockaddr_nl src;
	struct iovec iov = { .iov_base = w->rbuf, .iov_len = recv_len };
	struct msghdr mh = { .msg_name = &src, .msg_namelen = sizeof(src), .msg_iov = &iov,
			     .msg_iovlen = 1 };
	ssize_t n;

	for (;;) {
		n = recvmsg(rd->s->fd, &mh, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS) {
			w->st->overruns++;
			rd->lossy = true;
			continue;
		}
		if (errno != EAGAIN) {
			bad(w, "recvmsg: %s", strerror(errno));
			return -1;
		}
		if (wait_ms <= 0)
			return 0;
		{
			struct pollfd pfd = { .fd = rd->s->fd, .events = POLLIN };
			int r = poll(&pfd, 1, wait_ms);

			if (r == 0)
				return 0;
			wait_ms = 0;	/* once */
		}
	}
	if (src.nl_pid != 0) {
		bad(w, "datagram from port %u, not the kernel", src.nl_pid);
		return 1;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		w->st->truncated++;
		rd->lossy = true;
		return 1;
	}
	on_datagram(w, rd, w->rbuf, n);
	return 1;
}

static void judge(struct worker *w, struct round *rd, struct pend *p)
{
	bool ack = p->flags & NLM_F_ACK;
	int i;

	if (p->n_err + p->n_ack > 1)
		bad(w, "seq %u: %d errors and %d acks for one message", p->seq, p->n_err, p->n_ack);
	if (p->n_err && (p->n_rec || p->n_done))
		bad(w, "seq %u: error %d and also %d replies%s", p->seq, p->err, p->n_rec,
		    p->n_done ? " and a DONE" : "");
	if (p->n_done > 1)
		bad(w, "seq %u: %d NLMSG_DONE", p->seq, p->n_done);
	if (p->n_rec > p->n_multi && (p->n_rec > 1 || p->n_multi))
		bad(w, "seq %u: %d replies, %d of them multipart", p->seq, p->n_rec, p->n_multi);
	if (rd->lossy)
		return;

	switch (p->exp) {
	case EXP_ACK:
		if (p->n_ack != ack || p->n_err || p->n_rec || p->n_done)
			bad(w, "seq %u (type %u flags 0x%x): want %s, got %d acks, error %d, %d replies",
			    p->seq, p->type, p->flags, ack ? "an ack" : "nothing", p->n_ack,
			    p->n_err ? p->err : 0, p->n_rec);
		break;
	case EXP_ERR:
		if (p->n_err == 1 && !p->n_rec && !p->n_done &&
		    (p->err == p->want || (p->eagain_ok && p->err == -EAGAIN) ||
		     (p->busy_ok && p->err == -EBUSY)))
			break;
		bad(w, "seq %u (type %u flags 0x%x): want error %d (%s), got %s %d, %d replies%s",
		    p->seq, p->type, p->flags, p->want, strerror(-p->want),
		    p->n_err ? "error" : p->n_ack ? "ack" : "nothing",
		    p->n_err ? p->err : 0, p->n_rec, p->n_done ? ", a DONE" : "");
		hexdump("request", p->sent, p->len);
		break;
	case EXP_RECORD:
		if (p->n_err == 1 && !p->n_rec &&
		    (p->err == -EAGAIN || (p->enodev_ok && p->err == -ENODEV)))
			break;
		if (p->n_err || p->n_rec != 1 || !p->named_ok || p->n_ack != ack || p->n_done)
			bad(w, "seq %u: want the record of %s%s, got %d replies (%s), error %d, %d acks",
			    p->seq, cfg.devs[p->dev], ack ? " and an ack" : "", p->n_rec,
			    p->named_ok ? "named so" : "not named so", p->n_err ? p->err : 0, p->n_ack);
		break;
	case EXP_DUMP:
		if (p->busy_ok && p->n_err == 1 && p->err == -EBUSY && !p->n_rec)
			break;
		if (p->n_err || p->n_ack || p->n_done != 1 ||
		    (p->done_err && !(p->eagain_ok && p->done_err == -EAGAIN))) {
			bad(w, "seq %u: want a dump, got error %d, %d acks, %d DONE (errno %d), %d records",
			    p->seq, p->n_err ? p->err : 0, p->n_ack, p->n_done, p->done_err, p->n_rec);
			break;
		}
		if (p->done_err)
			break;
		for (i = 0; i < cfg.ndevs; i++)
			if (p->seen[i] > 1 || (!cfg.vol[i] && p->seen[i] != 1))
				bad(w, "seq %u: the dump lists %s %u times", p->seq, cfg.devs[i], p->seen[i]);
		break;
	case EXP_CTRL:
		break;
	}
}

/* Reads every answer of the round, waiting for dumps to end; judges them. */
static void drain(struct worker *w, struct round *rd)
{
	int i, r;

	for (;;) {
		r = read_one(w, rd, round_open(rd) ? STALL_MS : 0, RECV_MAX);
		if (r < 0)
			break;
		if (r == 0) {
			if (round_open(rd))
				bad(w, "a dump sent nothing for %d s", STALL_MS / 1000);
			break;
		}
	}
	if (rd->lossy)
		w->st->lossy++;
	for (i = 0; i < rd->np; i++)
		judge(w, rd, &rd->p[i]);
	rd->s->dump_open = false;
	rd->np = 0;
	rd->stored = 0;
	rd->lossy = false;
}

/* Sends b (after plan) on the round's socket. */
static bool send_dgram(struct worker *w, struct round *rd, struct buf *b)
{
	int before = rd->np, i;
	size_t len = plan(w, rd, b);
	ssize_t n;

	if (cfg.verbose) {
		fprintf(stderr, "  send %zu bytes on port %u, %d messages parsed\n", len, rd->s->portid,
			rd->np - before);
		for (i = before; i < rd->np; i++)
			fprintf(stderr, "    seq %u type %u flags 0x%x len %u: expect %d want %d dev %d\n",
				rd->p[i].seq, rd->p[i].type, rd->p[i].flags, rd->p[i].len, rd->p[i].exp,
				rd->p[i].want, rd->p[i].dev);
		hexdump("datagram", b->p, len);
	}
	n = sendto(rd->s->fd, b->p, len, 0, (const struct sockaddr *)&kernel_addr, sizeof(kernel_addr));
	w->st->dgrams++;
	if (n < 0) {
		count_errno(w->st->send_err, errno);
		rd->np = before;
		/* Nothing to send is refused from 6.10 on (ENODATA). */
		if (errno != EMSGSIZE && errno != ENOBUFS && errno != ENOMEM &&
		    !(errno == ENODATA && !len))
			bad(w, "sendto %zu bytes: %s", len, strerror(errno));
		return false;
	}
	if ((size_t)n != len)
		bad(w, "sendto sent %zd of %zu bytes", n, len);
	w->st->bytes += len;
	w->st->msgs += rd->np - before ? rd->np - before : 1;
	if (rd->np == before)
		w->st->unparsed++;
	for (i = before; i < rd->np; i++)
		if (rd->p[i].is_dump && rd->p[i].exp != EXP_ACK &&
		    (rd->p[i].type == cfg.fam || rd->p[i].type == GENL_ID_CTRL))
			rd->s->dump_open = true;
	return true;
}

/* ---------- cases ---------- */

static uint8_t *sendbuf;

static struct buf newbuf(void)
{
	return (struct buf){ .p = sendbuf, .len = 0, .cap = SEND_MAX };
}

/* One datagram made by gen on the main socket, answers read and judged. */
static void simple_case(struct worker *w, int k)
{
	struct buf b = newbuf();

	gen_one(&w->r, &b, k);
	w->rd.s = &w->main;
	w->rd.monotonic = true;
	send_dgram(w, &w->rd, &b);
	drain(w, &w->rd);
}

static void case_batch(struct worker *w)
{
	static const int kinds[] = { K_GET, K_GET, K_DUMP, K_FLAGS, K_ATTRS, K_CMD, K_LEN,
				     K_MUTATE, K_CTRL, K_FAMILY, K_SHORT, K_GARBAGE };
	struct buf b = newbuf();
	int i, n = 2 + below(&w->r, 15);

	for (i = 0; i < n; i++) {
		int k = kinds[below(&w->r, sizeof(kinds) / sizeof(kinds[0]))];

		/* A malformed one cuts the batch: rarely, and not first. */
		if ((k == K_SHORT || k == K_GARBAGE || k == K_LEN || k == K_MUTATE) &&
		    (i == 0 || chance(&w->r, 70)))
			k = K_GET;
		gen_one(&w->r, &b, k);
	}
	w->rd.s = &w->main;
	w->rd.monotonic = true;
	send_dgram(w, &w->rd, &b);
	drain(w, &w->rd);
}

static void case_huge(struct worker *w)
{
	struct buf b = newbuf();
	size_t off, a, n, i;

	switch (below(&w->r, 4)) {
	case 0:
		/* One device name of up to 64 KiB. */
		off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | NLM_F_ACK);
		put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
		n = 1000 + below(&w->r, 0xffff - NLA_HDRLEN - 1000);
		a = attr_begin(&b, VFIO_RELEASE_A_DEVICE);
		memset(b.p + b.len, 'x', n);
		b.p[b.len + n - 1] = chance(&w->r, 50) ? '\0' : 'y';
		b.len += n;
		attr_end(&b, a);
		pad4(&b);
		msg_end(&b, off);
		break;
	case 1:
		/* Thousands of attributes. */
		off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | (chance(&w->r, 50) ? NLM_F_DUMP : 0));
		put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
		n = 1000 + below(&w->r, 10000);
		for (i = 0; i < n && room(&b, 64); i++) {
			if (chance(&w->r, 99)) {
				put_attr(&b, VFIO_RELEASE_A_DEVICE, cfg.devs[0], strlen(cfg.devs[0]) + 1);
			} else {
				put_attr(&b, below(&w->r, 40), "", 0);
			}
		}
		msg_end(&b, off);
		break;
	case 2:
		/* Past the socket's send buffer: EMSGSIZE. */
		n = SEND_MAX - below(&w->r, 1024);
		memset(b.p, 0, n);
		b.len = n;
		off = msg_begin(&b, cfg.fam, NLM_F_REQUEST);
		b.len = n;
		msg_end(&b, 0);
		break;
	default:
		/* Deep nesting, all the way. */
		off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | NLM_F_ACK);
		put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
		{
			size_t stack[2000];
			size_t depth = 10 + below(&w->r, 1990);

			for (i = 0; i < depth; i++)
				stack[i] = attr_begin(&b, VFIO_RELEASE_A_DEVICE | NLA_F_NESTED);
			put_str(&b, VFIO_RELEASE_A_DEVICE, cfg.devs[0]);
			while (i--)
				attr_end(&b, stack[i]);
		}
		msg_end(&b, off);
		break;
	}
	w->rd.s = &w->main;
	w->rd.monotonic = true;
	send_dgram(w, &w->rd, &b);
	drain(w, &w->rd);
}

/* A dump on a fresh socket, closed unread or after one or two reads. */
static void case_dump_abandon(struct worker *w)
{
	struct nls s;
	struct round *rd = &w->rd;
	struct buf b = newbuf();
	int reads = below(&w->r, 3), i;
	int rcvbuf = chance(&w->r, 50) ? 0 : (const int[]){ 1, 1024, 4096, 16384 }[below(&w->r, 4)];

	if (nls_open(w, &s, rcvbuf)) {
		bad(w, "cannot open a netlink socket: %s", strerror(errno));
		return;
	}
	gen_get(&w->r, &b, true, false);
	if (chance(&w->r, 30))
		gen_get(&w->r, &b, false, true);
	rd->s = &s;
	rd->monotonic = false;
	send_dgram(w, rd, &b);
	for (i = 0; i < reads; i++)
		if (read_one(w, rd, 0, RECV_MAX) <= 0)
			break;
	rd->np = 0;
	rd->stored = 0;
	rd->lossy = false;
	nls_close(&s);
}

/* A dump on the main socket, then more before anything is read. */
static void case_dump_then(struct worker *w)
{
	static const int kinds[] = { K_GET, K_DUMP, K_GARBAGE, K_SHORT, K_ATTRS, K_CTRL, K_MUTATE };
	struct buf b = newbuf();
	int i, n = 1 + below(&w->r, 3);

	w->rd.s = &w->main;
	w->rd.monotonic = true;
	gen_get(&w->r, &b, true, false);
	send_dgram(w, &w->rd, &b);
	for (i = 0; i < n; i++) {
		b = newbuf();
		gen_one(&w->r, &b, kinds[below(&w->r, sizeof(kinds) / sizeof(kinds[0]))]);
		send_dgram(w, &w->rd, &b);
		if (chance(&w->r, 30))
			read_one(w, &w->rd, 0, RECV_MAX);
	}
	drain(w, &w->rd);
}

/* A dump read through buffers too small for its messages. */
static void case_dump_tiny(struct worker *w)
{
	struct nls s;
	struct round *rd = &w->rd;
	struct buf b = newbuf();
	size_t len = 1 + below(&w->r, 300);
	int i;

	if (nls_open(w, &s, 0)) {
		bad(w, "cannot open a netlink socket: %s", strerror(errno));
		return;
	}
	gen_get(&w->r, &b, true, false);
	rd->s = &s;
	rd->monotonic = false;
	send_dgram(w, rd, &b);
	/* Until nothing comes (or many reads). */
	for (i = 0; i < 2 * cfg.ndevs + 8; i++)
		if (read_one(w, rd, 0, len) <= 0)
			break;
	rd->np = 0;
	rd->stored = 0;
	rd->lossy = false;
	nls_close(&s);
}

/* Dumps on several sockets at once, read in turns; some closed midway. */
static void case_dump_multi(struct worker *w)
{
	struct nls s[4];
	struct round *rds;
	int n = 2 + below(&w->r, 3), i, live = 0, turns;

	rds = calloc(n, sizeof(*rds));
	if (!rds)
		fail("calloc");
	for (i = 0; i < n; i++) {
		struct buf b = newbuf();

		rds[i].store = malloc(2 * SEND_MAX);
		rds[i].seen = calloc((size_t)MAX_PEND * MAX_DEVS, sizeof(uint16_t));
		if (!rds[i].store || !rds[i].seen)
			fail("malloc");
		if (nls_open(w, &s[i], 0)) {
			bad(w, "cannot open a netlink socket: %s", strerror(errno));
			s[i].fd = -1;
			continue;
		}
		rds[i].s = &s[i];
		rds[i].monotonic = false;
		gen_get(&w->r, &b, true, chance(&w->r, 20));
		send_dgram(w, &rds[i], &b);
		live++;
	}
	for (turns = 0; live && turns < 100000; turns++) {
		for (i = 0; i < n; i++) {
			int r;

			if (s[i].fd < 0)
				continue;
			if (chance(&w->r, 5)) {
				/* Closed midway: what was read was checked. */
				rds[i].np = 0;
				nls_close(&s[i]);
				live--;
				continue;
			}
			r = read_one(w, &rds[i], round_open(&rds[i]) ? STALL_MS : 0, RECV_MAX);
			if (r < 0 || !round_open(&rds[i])) {
				drain(w, &rds[i]);
				nls_close(&s[i]);
				live--;
			} else if (r == 0) {
				bad(w, "a dump sent nothing for %d s", STALL_MS / 1000);
				rds[i].np = 0;
				nls_close(&s[i]);
				live--;
			}
		}
	}
	for (i = 0; i < n; i++) {
		nls_close(&s[i]);
		free(rds[i].store);
		free(rds[i].seen);
	}
	free(rds);
}

/* Joins and leaves: the events group (only root may), others, bind masks. */
static void case_mcast(struct worker *w)
{
	struct nls *s = &w->main;
	uint32_t grp;
	int v;

	switch (below(&w->r, 6)) {
	case 0: case 1:
		grp = cfg.grp;
		if (setsockopt(s->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp))) {
			count_errno(w->st->sockopt_err, errno);
			if (!w->role || errno != EPERM)
				bad(w, "join the events group as %s: %s", w->role ? "nobody" : "root",
				    strerror(errno));
			w->st->joins_refused++;
		} else {
			count_errno(w->st->sockopt_err, 0);
			if (w->role)
				bad(w, "user nobody joined the events group");
			w->st->joins++;
			s->joined = true;
		}
		break;
	case 2:
		grp = cfg.grp;
		v = setsockopt(s->fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp));
		count_errno(w->st->sockopt_err, v ? errno : 0);
		s->joined = false;
		break;
	case 3:
		/* Any group, existing or not. */
		grp = chance(&w->r, 50) ? below(&w->r, 64) : (uint32_t)rnd(&w->r);
		v = setsockopt(s->fd, SOL_NETLINK,
			       chance(&w->r, 70) ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
			       &grp, sizeof(grp));
		count_errno(w->st->sockopt_err, v ? errno : 0);
		break;
	case 4: {
		/* A fresh socket bound with a random group mask, then closed. */
		struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = (uint32_t)rnd(&w->r) };
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

		if (fd < 0) {
			bad(w, "socket: %s", strerror(errno));
			break;
		}
		v = bind(fd, (struct sockaddr *)&a, sizeof(a));
		count_errno(w->st->sockopt_err, v ? errno : 0);
		close(fd);
		break;
	}
	default: {
		/* Socket options: NO_ENOBUFS, LISTEN_ALL_NSID, PKTINFO. */
		static const int opts[] = { NETLINK_NO_ENOBUFS, NETLINK_LISTEN_ALL_NSID,
					    NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR };
		struct nls t;

		if (nls_open(w, &t, 0)) {
			bad(w, "cannot open a netlink socket: %s", strerror(errno));
			break;
		}
		v = 1;
		v = setsockopt(t.fd, SOL_NETLINK, opts[below(&w->r, 4)], &v, sizeof(v));
		count_errno(w->st->sockopt_err, v ? errno : 0);
		grp = cfg.grp;
		v = setsockopt(t.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp));
		count_errno(w->st->sockopt_err, v ? errno : 0);
		if (!v == !!w->role)
			bad(w, "join the events group on a fresh socket as %s: %s",
			    w->role ? "nobody" : "root", v ? strerror(errno) : "allowed");
		nls_close(&t);
		break;
	}
	}
	/* Every case sends something. */
	simple_case(w, K_GET);
}

/* Socket options of the main socket that change what replies look like. */
static void maybe_toggle(struct worker *w)
{
	struct nls *s = &w->main;

	if (chance(&w->r, 3))
		set_flag(w, s, NETLINK_EXT_ACK, !s->ext_ack, &s->ext_ack);
	if (chance(&w->r, 3))
		set_flag(w, s, NETLINK_CAP_ACK, !s->cap_ack, &s->cap_ack);
	if (chance(&w->r, 2)) {
		bool strict;

		set_flag(w, s, NETLINK_GET_STRICT_CHK, chance(&w->r, 50), &strict);
	}
}

static enum kind pick_kind(struct rng *r)
{
	unsigned int total = 0, x, k;

	for (k = 0; k < NKINDS; k++)
		total += kind_weight[k];
	x = below(r, total);
	for (k = 0; k < NKINDS; k++) {
		if (x < kind_weight[k])
			return k;
		x -= kind_weight[k];
	}
	return K_GET;
}

static void run_case(struct worker *w, uint64_t idx)
{
	w->idx = idx;
	rng_for_case(&w->r, cfg.seed, idx);
	w->kind = pick_kind(&w->r);
	w->st->kinds[w->kind]++;
	w->st->cases++;
	w->st->last_case = idx;
	if (cfg.verbose)
		fprintf(stderr, "case %" PRIu64 ": %s as %s\n", idx, kind_name[w->kind],
			w->role ? "nobody" : "root");
	maybe_toggle(w);
	switch (w->kind) {
	case K_BATCH:
		case_batch(w);
		break;
	case K_HUGE:
		case_huge(w);
		break;
	case K_DUMP_ABANDON:
		case_dump_abandon(w);
		break;
	case K_DUMP_THEN:
		case_dump_then(w);
		break;
	case K_DUMP_TINY:
		case_dump_tiny(w);
		break;
	case K_DUMP_MULTI:
		case_dump_multi(w);
		break;
	case K_MCAST:
		case_mcast(w);
		break;
	default:
		simple_case(w, w->kind);
		break;
	}
	/* After an overrun, a fresh main socket: nothing stale is left. */
	if (w->st->overruns && w->main.fd >= 0) {
		static uint64_t seen_overruns;

		if (w->st->overruns != seen_overruns) {
			seen_overruns = w->st->overruns;
			nls_close(&w->main);
			if (nls_open(w, &w->main, 1 << 20))
				fail("reopen the main socket");
		}
	}
}

/* ---------- workers ---------- */

static void worker_init(struct worker *w, int id, int role, struct stats *st)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->role = role;
	w->st = st;
	st->role = role;
	w->rbuf = aligned_alloc(8, RECV_MAX);
	w->rd.store = malloc(2 * SEND_MAX);
	w->rd.seen = calloc((size_t)MAX_PEND * MAX_DEVS, sizeof(uint16_t));
	w->ds = calloc(MAX_DEVS, sizeof(*w->ds));
	if (!w->rbuf || !w->rd.store || !w->rd.seen || !w->ds)
		fail("memory for a worker");
	if (nls_open(w, &w->main, 1 << 20))
		fail("open a generic netlink socket");
	w->main.ev_seq = 0;
}

static void drop_to_nobody(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		fail("become user nobody");
	if (syscall(SYS_capget, &hdr, data))
		fail("capget");
	if (data[0].effective || data[1].effective || data[0].permitted || data[1].permitted) {
		errno = EPERM;
		fail("user nobody still has capabilities");
	}
}

static void worker_run(int id, int role)
{
	struct worker w;
	uint64_t i;

	if (role)
		drop_to_nobody();
	worker_init(&w, id, role, &stats[id]);
	for (i = id; i < cfg.count && !stop_now; i += cfg.nworkers) {
		if (cfg.deadline && now_ns() >= cfg.deadline)
			break;
		run_case(&w, i);
	}
	stats[id].done = 1;
	exit(0);
}

/* ---------- setup and the parent's own checks ---------- */

/* One request on socket s, every reply handed to fn; returns the error. */
static int request(struct nls *s, struct buf *b, void (*fn)(const struct nlmsghdr *, void *), void *arg)
{
	static uint8_t rb[RECV_MAX] __attribute__((aligned(8)));
	struct nlmsghdr h;
	int err = 0;

	memcpy(&h, b->p, sizeof(h));
	h.nlmsg_seq = 0x7fff0000u + (uint32_t)getpid();
	memcpy(b->p, &h, sizeof(h));
	if (sendto(s->fd, b->p, b->len, 0, (const struct sockaddr *)&kernel_addr, sizeof(kernel_addr)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(s->fd, rb, sizeof(rb), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while ((size_t)n - off >= NLMSG_HDRLEN) {
			struct nlmsghdr *m = (struct nlmsghdr *)(rb + off);

			if (m->nlmsg_len < NLMSG_HDRLEN || m->nlmsg_len > n - off)
				return -EBADMSG;
			if (m->nlmsg_seq == h.nlmsg_seq) {
				if (m->nlmsg_type == NLMSG_ERROR) {
					memcpy(&err, NLMSG_DATA(m), sizeof(err));
					return err;
				}
				if (m->nlmsg_type == NLMSG_DONE) {
					memcpy(&err, NLMSG_DATA(m), sizeof(err));
					return err;
				}
				fn(m, arg);
				if (!(m->nlmsg_flags & NLM_F_MULTI))
					return 0;
			}
			off += NLMSG_ALIGN(m->nlmsg_len);
		}
	}
}

struct family_info {
	uint16_t id;
	uint32_t grp;
	bool found;
};

static void on_family(const struct nlmsghdr *m, void *arg)
{
	struct family_info *fi = arg;
	const uint8_t *a = (const uint8_t *)m + GENL_ATTR_OFF;
	int rem = (int)m->nlmsg_len - GENL_ATTR_OFF;
	uint16_t id = 0;
	uint32_t grp = 0;
	bool ours = false;

	while (rem >= NLA_HDRLEN) {
		const struct nlattr *na = (const struct nlattr *)a;

		if (na->nla_len < NLA_HDRLEN || na->nla_len > rem)
			break;
		if (na->nla_type == CTRL_ATTR_FAMILY_ID)
			memcpy(&id, a + NLA_HDRLEN, 2);
		if (na->nla_type == CTRL_ATTR_FAMILY_NAME &&
		    !strcmp((const char *)a + NLA_HDRLEN, VFIO_RELEASE_GENL_NAME))
			ours = true;
		if ((na->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS) {
			const uint8_t *g = a + NLA_HDRLEN;
			int grem = na->nla_len - NLA_HDRLEN;

			while (grem >= NLA_HDRLEN) {
				const struct nlattr *gn = (const struct nlattr *)g;
				const uint8_t *e = g + NLA_HDRLEN;
				int erem = gn->nla_len - NLA_HDRLEN;
				uint32_t gid = 0;
				bool events = false;

				if (gn->nla_len < NLA_HDRLEN || gn->nla_len > grem)
					break;
				while (erem >= NLA_HDRLEN) {
					const struct nlattr *en = (const struct nlattr *)e;

					if (en->nla_len < NLA_HDRLEN || en->nla_len > erem)
						break;
					if (en->nla_type == CTRL_ATTR_MCAST_GRP_ID)
						memcpy(&gid, e + NLA_HDRLEN, 4);
					if (en->nla_type == CTRL_ATTR_MCAST_GRP_NAME &&
					    !strcmp((const char *)e + NLA_HDRLEN, VFIO_RELEASE_MCGRP_EVENTS))
						events = true;
					e += NLA_ALIGN(en->nla_len);
					erem -= NLA_ALIGN(en->nla_len);
				}
				if (events)
					grp = gid;
				g += NLA_ALIGN(gn->nla_len);
				grem -= NLA_ALIGN(gn->nla_len);
			}
		}
		a += NLA_ALIGN(na->nla_len);
		rem -= NLA_ALIGN(na->nla_len);
	}
	if (ours) {
		fi->id = id;
		fi->grp = grp;
		fi->found = true;
	}
	if (id && cfg.nused < (int)(sizeof(cfg.used_ids) / sizeof(cfg.used_ids[0])))
		cfg.used_ids[cfg.nused++] = id;
}

static int resolve(struct nls *s, struct family_info *fi, bool all)
{
	struct buf b = newbuf();
	size_t off;

	memset(fi, 0, sizeof(*fi));
	off = msg_begin(&b, GENL_ID_CTRL, NLM_F_REQUEST | (all ? NLM_F_DUMP : 0));
	put_genl(&b, CTRL_CMD_GETFAMILY, 1, 0);
	if (!all)
		put_str(&b, CTRL_ATTR_FAMILY_NAME, VFIO_RELEASE_GENL_NAME);
	msg_end(&b, off);
	return request(s, &b, on_family, fi);
}

static void on_start_record(const struct nlmsghdr *m, void *arg)
{
	struct rec rc;
	const char *why;

	(void)arg;
	if (m->nlmsg_type != cfg.fam)
		return;
	/* The instance is learnt from the first record. */
	if (!cfg.instance) {
		const uint8_t *a = (const uint8_t *)m + GENL_ATTR_OFF;
		int rem = (int)m->nlmsg_len - GENL_ATTR_OFF;

		while (rem >= NLA_HDRLEN) {
			const struct nlattr *na = (const struct nlattr *)a;

			if (na->nla_len < NLA_HDRLEN || na->nla_len > rem)
				break;
			if (na->nla_type == VFIO_RELEASE_A_INSTANCE && na->nla_len == NLA_HDRLEN + 8)
				memcpy(&cfg.instance, a + NLA_HDRLEN, 8);
			a += NLA_ALIGN(na->nla_len);
			rem -= NLA_ALIGN(na->nla_len);
		}
	}
	why = parse_record(VFIO_RELEASE_CMD_GET_DEVICE, (const uint8_t *)m + GENL_ATTR_OFF,
			   m->nlmsg_len - GENL_ATTR_OFF, &rc);
	if (why) {
		fprintf(stderr, "genl-fuzz: a record of the first dump is malformed: %s\n", why);
		exit(1);
	}
	if (cfg.ndevs == MAX_DEVS) {
		fprintf(stderr, "genl-fuzz: more than %d devices\n", MAX_DEVS);
		exit(2);
	}
	snprintf(cfg.devs[cfg.ndevs], NAME_MAX_LEN, "%s", rc.name);
	cfg.vol[cfg.ndevs] = true;
	cfg.ndevs++;
}

static int first_dump(struct nls *s)
{
	struct buf b = newbuf();
	size_t off;

	off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | NLM_F_DUMP);
	put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
	msg_end(&b, off);
	return request(s, &b, on_start_record, NULL);
}

/* The parent's events listener: every event well-formed, no unexplained gap. */
struct listener {
	struct worker w;
	uint64_t last, gap_at;
	bool overran;
};

static void listen_drain(struct listener *l)
{
	struct worker *w = &l->w;
	struct sockaddr_nl src;
	struct iovec iov = { .iov_base = w->rbuf, .iov_len = RECV_MAX };
	struct msghdr mh = { .msg_name = &src, .msg_namelen = sizeof(src), .msg_iov = &iov,
			     .msg_iovlen = 1 };

	for (;;) {
		ssize_t n = recvmsg(w->main.fd, &mh, MSG_DONTWAIT);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				w->st->overruns++;
				l->overran = true;
				continue;
			}
			return;
		}
		while ((size_t)n - off >= NLMSG_HDRLEN) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(w->rbuf + off);
			uint64_t before = w->main.ev_seq, fails = w->st->failures;

			if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > n - off) {
				bad(w, "event datagram framing: nlmsg_len %u with %zu bytes left",
				    h->nlmsg_len, n - off);
				break;
			}
			on_event(w, &w->main, h);
			if (w->st->failures == fails && h->nlmsg_type == cfg.fam) {
				uint64_t seq = w->main.ev_seq;
				struct genlmsghdr g;

				memcpy(&g, (const uint8_t *)h + NLMSG_HDRLEN, sizeof(g));
				if (before && seq != before + 1) {
					w->st->gaps++;
					if (l->overran)
						w->st->gaps_explained++;
					else if (!l->gap_at)
						l->gap_at = seq;
				}
				if (g.cmd == VFIO_RELEASE_CMD_RESYNC) {
					w->st->resyncs++;
					if (l->gap_at) {
						w->st->gaps_explained++;
						l->gap_at = 0;
					}
				}
				l->overran = false;
			}
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void on_term(int sig)
{
	(void)sig;
	stop_now = 1;
}

static void print_hist(const char *title, const uint64_t *h, bool zero_is_ack)
{
	int e;

	printf("%s", title);
	for (e = 0; e <= NERR; e++) {
		if (!h[e])
			continue;
		if (e == 0)
			printf(" %s=%" PRIu64, zero_is_ack ? "ack" : "0", h[e]);
		else if (e == NERR)
			printf(" other=%" PRIu64, h[e]);
		else
			printf(" %s=%" PRIu64, strerrorname_np(e) ? strerrorname_np(e) : "?", h[e]);
	}
	printf("\n");
}

static void sum_stats(struct stats *t, int from, int to)
{
	int i, k;

	memset(t, 0, sizeof(*t));
	for (i = from; i < to; i++) {
		const uint64_t *s = (const uint64_t *)&stats[i];
		uint64_t *d = (uint64_t *)t;

		for (k = 0; k < (int)(offsetof(struct stats, role) / sizeof(uint64_t)); k++)
			d[k] += s[k];
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: genl-fuzz [--seed S] [--count N] [--time SECONDS] [--root N] [--nobody N]\n"
		"                 [--device DEV]... [--volatile DEV]... [--replay CASE] [--verbose]\n");
	exit(2);
}

/* The post-check: the family as it was, a dump and each stable device's GET. */
static void post_check(struct worker *pw)
{
	struct family_info fi;
	struct buf b;
	int err, i;

	pw->idx = 0;
	pw->what = "family";
	err = resolve(&pw->main, &fi, false);
	if (err || !fi.found)
		bad(pw, "the family is gone: %s", err ? strerror(-err) : "not in the controller's answer");
	else if (fi.id != cfg.fam || fi.grp != cfg.grp)
		bad(pw, "the family is now id %u group %u, was %u and %u", fi.id, fi.grp, cfg.fam, cfg.grp);

	pw->what = "dump";
	pw->rd.s = &pw->main;
	pw->rd.monotonic = true;
	pw->kind = K_DUMP;
	b = newbuf();
	{
		size_t off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | NLM_F_DUMP);

		put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
		msg_end(&b, off);
	}
	send_dgram(pw, &pw->rd, &b);
	drain(pw, &pw->rd);

	pw->what = "get";
	pw->kind = K_GET;
	for (i = 0; i < cfg.ndevs; i++) {
		size_t off;

		if (cfg.vol[i])
			continue;
		b = newbuf();
		off = msg_begin(&b, cfg.fam, NLM_F_REQUEST | NLM_F_ACK);
		put_genl(&b, VFIO_RELEASE_CMD_GET_DEVICE, 1, 0);
		put_str(&b, VFIO_RELEASE_A_DEVICE, cfg.devs[i]);
		msg_end(&b, off);
		pw->idx = i;
		send_dgram(pw, &pw->rd, &b);
		drain(pw, &pw->rd);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "time", required_argument, NULL, 't' },
		{ "root", required_argument, NULL, 'r' },
		{ "nobody", required_argument, NULL, 'u' },
		{ "device", required_argument, NULL, 'd' },
		{ "volatile", required_argument, NULL, 'V' },
		{ "replay", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct family_info fi;
	struct listener *l;
	struct worker *pw;
	struct stats tot, nob;
	pid_t pids[MAX_WORKERS];
	int opt, i, err, rc = 0, nstable = 0, nvol = 0;
	uint64_t last_progress;
	double secs;
	char *end;

	cfg.count = 10000;
	cfg.nroot = 1;
	cfg.nnobody = 1;
	while ((opt = getopt_long(argc, argv, "s:n:t:r:u:d:V:R:v", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			cfg.seed = strtoull(optarg, &end, 0);
			if (*end)
				usage();
			cfg.seed_given = true;
			break;
		case 'n':
			cfg.count = strtoull(optarg, &end, 0);
			if (*end || !cfg.count)
				usage();
			break;
		case 't':
			cfg.seconds = strtod(optarg, &end);
			if (*end || cfg.seconds <= 0)
				usage();
			break;
		case 'r':
			cfg.nroot = atoi(optarg);
			break;
		case 'u':
			cfg.nnobody = atoi(optarg);
			break;
		case 'd':
		case 'V':
			if (strlen(optarg) >= NAME_MAX_LEN)
				usage();
			if (opt == 'd')
				snprintf(cfg.want_stable[cfg.nwant_stable++], NAME_MAX_LEN, "%s", optarg);
			else
				snprintf(cfg.want_vol[cfg.nwant_vol++], NAME_MAX_LEN, "%s", optarg);
			if (cfg.nwant_stable == MAX_DEVS || cfg.nwant_vol == MAX_DEVS)
				usage();
			break;
		case 'R':
			cfg.replay_case = strtoull(optarg, &end, 0);
			if (*end)
				usage();
			cfg.replay = true;
			break;
		case 'v':
			cfg.verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || cfg.nroot < 0 || cfg.nnobody < 0 ||
	    cfg.nroot + cfg.nnobody < 1 || cfg.nroot + cfg.nnobody > MAX_WORKERS)
		usage();
	cfg.nworkers = cfg.nroot + cfg.nnobody;
	if (!cfg.seed_given) {
		uint64_t x = now_ns() ^ ((uint64_t)getpid() << 32);

		cfg.seed = mix(&x);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("genl-fuzz: seed 0x%" PRIx64 " (again: --seed 0x%" PRIx64 "; one case: add --replay CASE)\n",
	       cfg.seed, cfg.seed);

	sendbuf = aligned_alloc(8, SEND_MAX);
	stats = mmap(NULL, sizeof(*stats) * (MAX_WORKERS + 2), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	l = calloc(1, sizeof(*l));
	pw = calloc(1, sizeof(*pw));
	if (!sendbuf || stats == MAP_FAILED || !l || !pw)
		fail("memory");

	/* The family, its group, the other families, the devices. */
	worker_init(&l->w, -1, 0, &stats[MAX_WORKERS]);
	l->w.what = "listener";
	err = resolve(&l->w.main, &fi, false);
	if (err || !fi.found || !fi.grp) {
		fprintf(stderr, "genl-fuzz: family %s %s\n", VFIO_RELEASE_GENL_NAME,
			err == -ENOENT || !fi.found ? "not registered (is the module loaded?)" :
			err ? strerror(-err) : "has no events group");
		return 2;
	}
	cfg.fam = fi.id;
	cfg.grp = fi.grp;
	cfg.nused = 0;
	err = resolve(&l->w.main, &fi, true);
	if (err) {
		fprintf(stderr, "genl-fuzz: cannot list the families: %s\n", strerror(-err));
		return 2;
	}
	err = first_dump(&l->w.main);
	if (err) {
		fprintf(stderr, "genl-fuzz: the first dump failed: %s\n", strerror(-err));
		return 2;
	}
	for (i = 0; i < cfg.nwant_stable; i++) {
		int d = find_dev(cfg.want_stable[i], NAME_MAX_LEN);

		if (d < 0) {
			fprintf(stderr, "genl-fuzz: --device %s is not in the module's dump\n",
				cfg.want_stable[i]);
			return 2;
		}
		cfg.vol[d] = false;
	}
	for (i = 0; i < cfg.nwant_vol; i++) {
		int d = find_dev(cfg.want_vol[i], NAME_MAX_LEN);

		if (d >= 0) {
			cfg.vol[d] = true;
		} else if (cfg.ndevs < MAX_DEVS) {
			memcpy(cfg.devs[cfg.ndevs], cfg.want_vol[i], NAME_MAX_LEN);
			cfg.vol[cfg.ndevs++] = true;
		}
	}
	/* Without --device, every device seen is stable. */
	if (!cfg.nwant_stable)
		for (i = 0; i < cfg.ndevs; i++)
			cfg.vol[i] = false;
	for (i = 0; i < cfg.nwant_vol; i++) {
		int d = find_dev(cfg.want_vol[i], NAME_MAX_LEN);

		if (d >= 0)
			cfg.vol[d] = true;
	}
	for (i = 0; i < cfg.ndevs; i++)
		nstable += !cfg.vol[i], nvol += cfg.vol[i];
	if (!cfg.ndevs) {
		fprintf(stderr, "genl-fuzz: the module watches no device\n");
		return 2;
	}
	printf("genl-fuzz: family %s id %u, group %s id %u, instance 0x%" PRIx64
	       ", %d devices (%d stable, %d volatile), %d other families\n",
	       VFIO_RELEASE_GENL_NAME, cfg.fam, VFIO_RELEASE_MCGRP_EVENTS, cfg.grp, cfg.instance,
	       cfg.ndevs, nstable, nvol, cfg.nused - 1);

	if (cfg.replay) {
		struct worker w;
		int role = (int)(cfg.replay_case % cfg.nworkers) >= cfg.nroot;

		cfg.verbose = true;
		if (role)
			drop_to_nobody();
		worker_init(&w, 0, role, &stats[0]);
		run_case(&w, cfg.replay_case);
		printf("RESULT %s\n", stats[0].failures ? "FAIL" : "PASS");
		return stats[0].failures ? 1 : 0;
	}

	/* The listener joins before the workers start. */
	if (setsockopt(l->w.main.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &cfg.grp, sizeof(cfg.grp)))
		fail("join the events group");
	signal(SIGALRM, on_alarm);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	cfg.t0 = now_ns();
	if (cfg.seconds > 0)
		cfg.deadline = cfg.t0 + (uint64_t)(cfg.seconds * 1e9);
	printf("genl-fuzz: %" PRIu64 " cases%s, %d workers as root, %d as nobody\n", cfg.count,
	       cfg.seconds > 0 ? " at most (--time)" : "", cfg.nroot, cfg.nnobody);
	for (i = 0; i < cfg.nworkers; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (pids[i] == 0)
			worker_run(i, i >= cfg.nroot);
	}
	last_progress = cfg.t0;
	for (;;) {
		struct pollfd pfd = { .fd = l->w.main.fd, .events = POLLIN };
		int running = 0, status;

		poll(&pfd, 1, 200);
		listen_drain(l);
		for (i = 0; i < cfg.nworkers; i++) {
			if (!pids[i])
				continue;
			if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					fprintf(stderr, "genl-fuzz: worker %d ended with status 0x%x\n", i,
						status);
					stats[i].failures++;
				}
				pids[i] = 0;
			} else {
				running++;
			}
		}
		if (!running)
			break;
		if (stop_now)
			for (i = 0; i < cfg.nworkers; i++)
				if (pids[i])
					kill(pids[i], SIGTERM);
		if (now_ns() - last_progress > 10000000000ULL) {
			sum_stats(&tot, 0, cfg.nworkers);
			last_progress = now_ns();
			fprintf(stderr, "genl-fuzz: progress: %" PRIu64 " cases, %.0f s, %" PRIu64
				" failures; last cases:", tot.cases, (last_progress - cfg.t0) / 1e9,
				tot.failures);
			for (i = 0; i < cfg.nworkers; i++)
				fprintf(stderr, " %" PRIu64, stats[i].last_case);
			fprintf(stderr, "\n");
		}
	}
	secs = (now_ns() - cfg.t0) / 1e9;
	listen_drain(l);
	if (l->w.main.ev_seq && l->gap_at)
		bad(&l->w, "events lost without an overrun or a resync: a gap before seq %" PRIu64,
		    l->gap_at);

	worker_init(pw, -1, 0, &stats[MAX_WORKERS + 1]);
	post_check(pw);

	sum_stats(&tot, 0, cfg.nworkers);
	sum_stats(&nob, cfg.nroot, cfg.nworkers);
	printf("figures cases=%" PRIu64 " datagrams=%" PRIu64 " messages=%" PRIu64 " bytes=%" PRIu64
	       " seconds=%.1f rate=%.0f msgs_per_s=%.0f failures=%" PRIu64 "\n",
	       tot.cases, tot.dgrams, tot.msgs, tot.bytes, secs, tot.cases / secs, tot.msgs / secs,
	       tot.failures + stats[MAX_WORKERS].failures + stats[MAX_WORKERS + 1].failures);
	printf("kinds");
	for (i = 0; i < NKINDS; i++)
		printf(" %s=%" PRIu64, kind_name[i], tot.kinds[i]);
	printf("\n");
	printf("replies records=%" PRIu64 " datagrams=%" PRIu64 " dones=%" PRIu64 " dump_intr=%" PRIu64
	       " ctrl=%" PRIu64 " events=%" PRIu64 " foreign=%" PRIu64 " truncated=%" PRIu64
	       " overruns=%" PRIu64 " lossy_rounds=%" PRIu64 " unparsed_datagrams=%" PRIu64 "\n",
	       tot.records, tot.dump_parts, tot.dones, tot.dump_intr, tot.ctrl_replies, tot.events,
	       tot.foreign, tot.truncated, tot.overruns, tot.lossy, tot.unparsed);
	print_hist("errno", tot.err, true);
	print_hist("done-errno", tot.done_err, false);
	print_hist("send-errno", tot.send_err, false);
	print_hist("sockopt-errno", tot.sockopt_err, false);
	printf("nobody cases=%" PRIu64 " eperm=%" PRIu64 " records=%" PRIu64 " events=%" PRIu64
	       " joins=%" PRIu64 " joins_refused=%" PRIu64 "\n",
	       nob.cases, nob.eperm, nob.records, nob.events, nob.joins, nob.joins_refused);
	printf("listener events=%" PRIu64 " gaps=%" PRIu64 " gaps_explained=%" PRIu64 " resyncs=%" PRIu64
	       " overruns=%" PRIu64 " failures=%" PRIu64 "\n",
	       stats[MAX_WORKERS].events, stats[MAX_WORKERS].gaps, stats[MAX_WORKERS].gaps_explained,
	       stats[MAX_WORKERS].resyncs, stats[MAX_WORKERS].overruns, stats[MAX_WORKERS].failures);
	printf("post-check failures=%" PRIu64 " (family, a dump, GET of %d stable devices)\n",
	       stats[MAX_WORKERS + 1].failures, nstable);

	/* Kinds never run, when there were cases enough for each. */
	if (tot.cases >= 5000 && !cfg.deadline)
		for (i = 0; i < NKINDS; i++)
			if (!tot.kinds[i]) {
				fprintf(stderr, "FAIL: no case of kind %s ran\n", kind_name[i]);
				rc = 1;
			}
	if (cfg.nnobody && nob.cases > 100 && !nob.eperm) {
		fprintf(stderr, "FAIL: user nobody never got EPERM\n");
		rc = 1;
	}
	if (tot.failures || stats[MAX_WORKERS].failures || stats[MAX_WORKERS + 1].failures)
		rc = 1;
	if (rc)
		printf("RESULT FAIL: %" PRIu64 " failures\n",
		       tot.failures + stats[MAX_WORKERS].failures + stats[MAX_WORKERS + 1].failures +
		       (tot.failures ? 0 : 1));
	else
		printf("RESULT PASS\n");
	return rc;
}
