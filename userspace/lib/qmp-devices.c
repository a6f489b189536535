// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU's vfio-pci devices, read from its QOM tree: devices given an id
 * live at /machine/peripheral/ID, the others at
 * /machine/peripheral-anon/device[N]. Every object has a "type"; a
 * vfio-pci device has "host" (ffff:ff:ff.f when it was not given) and
 * "sysfsdev" (empty when not given), one of which names the host device
 * unless QEMU was handed an open file instead.
 */

#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "qmp-internal.h"

#define VR_QOM_PERIPHERAL "/machine/peripheral"
#define VR_QOM_PERIPHERAL_ANON "/machine/peripheral-anon"
/* What "host" reads when the device was not given one. */
#define VR_QOM_HOST_UNSET "ffff:ff:ff.f"

/* Runs command with arguments built by json-c (paths need escaping). */
static int vr_qom_call(struct vfio_release_qmp *q, const char *command, struct json_object *args,
		       uint64_t deadline, struct vfio_release_qmp_message **reply)
{
	const char *text;
	int err;

	*reply = NULL;
	text = json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN);
	err = !text ? -ENOMEM : vr_qmp_execute(q, command, text, deadline, reply);
	json_object_put(args);
	return err;
}

static struct json_object *vr_qom_args(const char *path, const char *property)
{
	struct json_object *args = json_object_new_object();

	if (!args || json_object_object_add(args, "path", json_object_new_string(path)) ||
	    (property &&
	     json_object_object_add(args, "property", json_object_new_string(property)))) {
		json_object_put(args);
		return NULL;
	}
	return args;
}

/*
 * A string property: 0 and a copy in *value, -ENODEV when QEMU has no
 * such object, -ENOENT when the object has no such property.
 */
static int vr_qom_get_string(struct vfio_release_qmp *q, const char *path, const char *property,
			     uint64_t deadline, char **value)
{
	struct json_object *args = vr_qom_args(path, property);
	struct vfio_release_qmp_message *reply;
	const char *s, *class;
	int err;

	if (!args)
		return -ENOMEM;
	err = vr_qom_call(q, "qom-get", args, deadline, &reply);
	if (err == -EREMOTEIO) {
		class = vfio_release_qmp_message_error_class(reply);
		err = !strcmp(class, "DeviceNotFound") ? -ENODEV : -ENOENT;
	} else if (!err) {
		s = vfio_release_qmp_message_get_string(reply, NULL);
		*value = s ? strdup(s) : NULL;
		err = !s ? -EPROTO : *value ? 0 : -ENOMEM;
	}
	vfio_release_qmp_message_unref(reply);
	return err;
}

/*
 * The types that are vfio-pci (vfio-pci-nohotplug is one), as QEMU
 * itself says, so that a subtype added later is not missed.
 */
static int vr_qom_vfio_types(struct vfio_release_qmp *q, uint64_t deadline,
			     struct vfio_release_qmp_message **types)
{
	struct json_object *args = json_object_new_object();

	if (!args || json_object_object_add(args, "implements", json_object_new_string("vfio-pci"))) {
		json_object_put(args);
		return -ENOMEM;
	}
	return vr_qom_call(q, "qom-list-types", args, deadline, types);
}

static bool vr_is_vfio_type(const struct vfio_release_qmp_message *types, const char *type)
{
	struct json_object *list = vr_qmp_message_body(types), *name;
	size_t i, n;

	if (!strcmp(type, "vfio-pci"))
		return true;
	if (!json_object_is_type(list, json_type_array))
		return false;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		if (json_object_object_get_ex(json_object_array_get_idx(list, i), "name", &name) &&
		    json_object_is_type(name, json_type_string) &&
		    !strcmp(json_object_get_string(name), type))
			return true;
	}
	return false;
}

/* "/sys/bus/pci/devices/0000:01:00.0" names 0000:01:00.0; an mdev does not. */
static int vr_sysfsdev_address(const char *sysfsdev, char *out, size_t size)
{
	size_t len = strlen(sysfsdev), start;
	char name[64];
	int err;

	while (len > 1 && sysfsdev[len - 1] == '/')
		len--;
	for (start = len; start && sysfsdev[start - 1] != '/'; start--)
		;
	if (start == len || len - start >= sizeof(name))
		return -ENODATA;
	memcpy(name, sysfsdev + start, len - start);
	name[len - start] = '\0';
	err = vfio_release_parse_device(name, out, size);
	return err == -EINVAL ? -ENODATA : err;
}

/* The host device of the vfio-pci device at path: "host", else "sysfsdev". */
static int vr_qom_host(struct vfio_release_qmp *q, const char *path, uint64_t deadline,
		       char *out, size_t size)
{
	char *value = NULL;
	int err;

	err = vr_qom_get_string(q, path, "host", deadline, &value);
	if (err && err != -ENOENT)
		return err;
	if (!err && *value && strcmp(value, VR_QOM_HOST_UNSET)) {
		err = vfio_release_parse_device(value, out, size);
		free(value);
		return err == -EINVAL ? -EPROTO : err;
	}
	free(value);
	value = NULL;
	err = vr_qom_get_string(q, path, "sysfsdev", deadline, &value);
	if (err)
		return err == -ENOENT ? -ENODATA : err;
	err = vr_sysfsdev_address(value, out, size);
	free(value);
	return err;
}

static int vr_qom_check_vfio(struct vfio_release_qmp *q, const char *path, uint64_t deadline)
{
	struct vfio_release_qmp_message *types = NULL;
	char *type = NULL;
	int err;

	err = vr_qom_get_string(q, path, "type", deadline, &type);
	if (err)
		/* Every object has a type: without one it is no object. */
		return err == -ENOENT ? -ENODEV : err;
	err = vr_qom_vfio_types(q, deadline, &types);
	if (!err || err == -EREMOTEIO)
		err = vr_is_vfio_type(types, type) ? 0 : -EMEDIUMTYPE;
	vfio_release_qmp_message_unref(types);
	free(type);
	return err;
}

VR_EXPORT int vfio_release_qmp_host_device(struct vfio_release_qmp *q, const char *id,
					   int timeout_ms, char *out, size_t size)
{
	uint64_t deadline = vr_qmp_deadline(timeout_ms);
	char *path;
	int err;

	if (!q || !id || !*id || !out)
		return -EINVAL;
	/* device_del takes an id or a QOM path: so does this. */
	if (*id == '/')
		path = strdup(id);
	else if (asprintf(&path, VR_QOM_PERIPHERAL "/%s", id) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;
	err = vr_qom_check_vfio(q, path, deadline);
	if (!err)
		err = vr_qom_host(q, path, deadline, out, size);
	free(path);
	return err;
}

/*
 * qom-list answers [{"name": "dev0", "type": "child<vfio-pci>"}, ...]:
 * the children are the devices, with their type.
 */
static int vr_qom_each_vfio(struct vfio_release_qmp *q, const char *base, bool named,
			    const struct vfio_release_qmp_message *types, uint64_t deadline,
			    vfio_release_qmp_device_cb cb, void *arg)
{
	struct vfio_release_qmp_message *reply;
	struct json_object *args, *list, *entry, *name, *type;
	char device[32], *path, tname[256];
	const char *t;
	size_t i, n, len;
	int err, count = 0;

	args = vr_qom_args(base, NULL);
	if (!args)
		return -ENOMEM;
	err = vr_qom_call(q, "qom-list", args, deadline, &reply);
	if (err) {
		vfio_release_qmp_message_unref(reply);
		/* No device without an id was ever added: no container. */
		return err == -EREMOTEIO ? 0 : err;
	}
	list = vr_qmp_message_body(reply);
	n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
	for (i = 0; i < n && err >= 0; i++) {
		entry = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(entry, "name", &name) ||
		    !json_object_object_get_ex(entry, "type", &type) ||
		    !json_object_is_type(name, json_type_string) ||
		    !json_object_is_type(type, json_type_string))
			continue;
		t = json_object_get_string(type);
		len = strlen(t);
		if (len < 7 || strncmp(t, "child<", 6) || t[len - 1] != '>' ||
		    len - 7 >= sizeof(tname))
			continue;
		memcpy(tname, t + 6, len - 7);
		tname[len - 7] = '\0';
		if (!vr_is_vfio_type(types, tname))
			continue;
		if (asprintf(&path, "%s/%s", base, json_object_get_string(name)) < 0) {
			err = -ENOMEM;
			break;
		}
		err = vr_qom_host(q, path, deadline, device, sizeof(device));
		free(path);
		if (err && err != -ENODATA)
			break;
		count++;
		err = cb ? cb(named ? json_object_get_string(name) : NULL, err ? NULL : device, arg) : 0;
	}
	vfio_release_qmp_message_unref(reply);
	return err < 0 ? err : count;
}

VR_EXPORT int vfio_release_qmp_vfio_devices(struct vfio_release_qmp *q, int timeout_ms,
					    vfio_release_qmp_device_cb cb, void *arg)
{
	uint64_t deadline = vr_qmp_deadline(timeout_ms);
	struct vfio_release_qmp_message *types;
	int named, anon, err;

	if (!q)
		return -EINVAL;
	err = vr_qom_vfio_types(q, deadline, &types);
	if (err && err != -EREMOTEIO) {
		vfio_release_qmp_message_unref(types);
		return err;
	}
	named = vr_qom_each_vfio(q, VR_QOM_PERIPHERAL, true, types, deadline, cb, arg);
	anon = named < 0 ? 0 : vr_qom_each_vfio(q, VR_QOM_PERIPHERAL_ANON, false, types,
						deadline, cb, arg);
	vfio_release_qmp_message_unref(types);
	return named < 0 ? named : anon < 0 ? anon : named + anon;
}
