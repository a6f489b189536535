// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sends malformed vfio_release GET requests and checks that each gets a
 * clean error, then that a well-formed GET of DEVICE still works.
 * Usage: genl-malformed DEVICE. Prints PASS/FAIL lines; exit 1 on a FAIL.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

#include <linux/vfio_release.h>

static int reply_err;

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	(void)nla;
	(void)arg;
	reply_err = err->error;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(*(int *)arg)++;
	return NL_OK;
}

typedef int (*fill_fn)(struct nl_msg *msg, const char *device);

static int fill_none(struct nl_msg *msg, const char *device)
{
	(void)msg;
	(void)device;
	return 0;
}

static int fill_wrong_type(struct nl_msg *msg, const char *device)
{
	uint32_t value = 0x30303030;	/* "0000" without its NUL */

	(void)device;
	return nla_put(msg, VFIO_RELEASE_A_DEVICE, sizeof(value), &value);
}

static int fill_oversized(struct nl_msg *msg, const char *device)
{
	char name[4 * VFIO_RELEASE_DEVICE_NAME_MAX];

	(void)device;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	return nla_put_string(msg, VFIO_RELEASE_A_DEVICE, name);
}

static int fill_unknown_attr(struct nl_msg *msg, const char *device)
{
	return nla_put_string(msg, VFIO_RELEASE_A_DEVICE, device) ||
	       nla_put_u32(msg, VFIO_RELEASE_A_MAX + 7, 1);
}

static int fill_absent_device(struct nl_msg *msg, const char *device)
{
	(void)device;
	return nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:ff:1f.7");
}

static int fill_empty(struct nl_msg *msg, const char *device)
{
	(void)device;
	return nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "");
}

static int fill_good(struct nl_msg *msg, const char *device)
{
	return nla_put_string(msg, VFIO_RELEASE_A_DEVICE, device);
}

/* Returns the kernel's errno (negative) or the number of replies. */
static int request(struct nl_sock *sk, int family, uint8_t cmd, fill_fn fill,
		   const char *device)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int replies = 0, err;

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd,
		    VFIO_RELEASE_GENL_VERSION);
	if (fill(msg, device)) {
		fprintf(stderr, "cannot build the request\n");
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &replies);
	reply_err = 0;
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		nl_recvmsgs(sk, cb);
	nlmsg_free(msg);
	nl_cb_put(cb);
	return reply_err ? reply_err : replies;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		uint8_t cmd;
		fill_fn fill;
		int want;	/* negative errno, or replies expected */
		int also;	/* another acceptable errno */
	} cases[] = {
		{ "get-missing-device", VFIO_RELEASE_CMD_GET_DEVICE, fill_none, -EINVAL, 0 },
		{ "get-wrong-type", VFIO_RELEASE_CMD_GET_DEVICE, fill_wrong_type, -EINVAL, 0 },
		{ "get-oversized-name", VFIO_RELEASE_CMD_GET_DEVICE, fill_oversized, -ERANGE, -EINVAL },
		{ "get-unknown-attribute", VFIO_RELEASE_CMD_GET_DEVICE, fill_unknown_attr, -EINVAL, 0 },
		{ "get-absent-device", VFIO_RELEASE_CMD_GET_DEVICE, fill_absent_device, -ENODEV, 0 },
		{ "get-empty-name", VFIO_RELEASE_CMD_GET_DEVICE, fill_empty, -ENODEV, 0 },
		{ "notification-cmd-as-request", VFIO_RELEASE_CMD_DEVICE_FREE, fill_good, -EOPNOTSUPP, 0 },
		{ "get-still-works", VFIO_RELEASE_CMD_GET_DEVICE, fill_good, 1, 0 },
	};
	struct nl_sock *sk;
	int family, failed = 0;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
		return 2;
	}
	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk)) {
		fprintf(stderr, "cannot open a generic netlink socket\n");
		return 2;
	}
	nl_socket_disable_auto_ack(sk);
	family = genl_ctrl_resolve(sk, VFIO_RELEASE_GENL_NAME);
	if (family < 0) {
		fprintf(stderr, "family %s not registered\n", VFIO_RELEASE_GENL_NAME);
		return 2;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = request(sk, family, cases[i].cmd, cases[i].fill, argv[1]);
		int ok = got == cases[i].want || (cases[i].also && got == cases[i].also);

		printf("%s %s: got %d (%s), want %d\n", ok ? "PASS" : "FAIL",
		       cases[i].name, got, got < 0 ? strerror(-got) : "replies",
		       cases[i].want);
		failed += !ok;
	}
	nl_socket_free(sk);
	return failed ? 1 : 0;
}
