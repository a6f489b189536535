// SPDX-License-Identifier: GPL-2.0-or-later
/* How the CLI prints events and records, as text or as JSON lines. */

#include <inttypes.h>

#include <json-c/json.h>

#include "output.h"

static bool vr_is_group_event(const struct vfio_release_event *ev)
{
	return ev->type == VFIO_RELEASE_CMD_GROUP_RELEASED ||
	       ev->type == VFIO_RELEASE_CMD_GROUP_CLAIMED;
}

static void vr_add(json_object *obj, const char *key, json_object *val)
{
	json_object_object_add(obj, key, val);
}

static json_object *vr_event_json(const struct vfio_release_event *ev)
{
	json_object *obj = json_object_new_object();

	vr_add(obj, "event", json_object_new_string(vfio_release_event_name(ev->type)));
	vr_add(obj, "seq", json_object_new_uint64(ev->seq));
	vr_add(obj, "timestamp_ns", json_object_new_uint64(ev->timestamp_ns));
	if (ev->instance)
		vr_add(obj, "instance", json_object_new_uint64(ev->instance));
	if (ev->type == VFIO_RELEASE_CMD_RESYNC) {
		vr_add(obj, "reason", json_object_new_string(ev->local_overflow ?
			"socket-overflow" : vfio_release_resync_name(ev->resync_reason)));
		vr_add(obj, "lost", json_object_new_uint64(ev->lost));
		return obj;
	}
	if (ev->has_group)
		vr_add(obj, "iommu_group", json_object_new_int64(ev->iommu_group));
	if (vr_is_group_event(ev))
		return obj;
	vr_add(obj, "device", json_object_new_string(ev->device));
	vr_add(obj, "subsystem", json_object_new_string(ev->subsystem));
	vr_add(obj, "driver", json_object_new_string(ev->driver));
	if (ev->has_pci_id) {
		char id[8];

		snprintf(id, sizeof(id), "%04x", ev->pci_vendor);
		vr_add(obj, "vendor", json_object_new_string(id));
		snprintf(id, sizeof(id), "%04x", ev->pci_device);
		vr_add(obj, "device_id", json_object_new_string(id));
	}
	vr_add(obj, "state", json_object_new_string(vfio_release_state_name(ev->state)));
	vr_add(obj, "reset", json_object_new_string(vfio_release_reset_name(ev->reset)));
	vr_add(obj, "generation", json_object_new_uint64(ev->generation));
	if (ev->has_close) {
		vr_add(obj, "close_ns", json_object_new_uint64(ev->close_ns));
		vr_add(obj, "pid", json_object_new_int64(ev->pid));
		vr_add(obj, "comm", json_object_new_string(ev->comm));
	}
	if (ev->registration)
		vr_add(obj, "registration", json_object_new_uint64(ev->registration));
	if (ev->has_opener) {
		vr_add(obj, "opener_pid", json_object_new_int64(ev->opener_pid));
		vr_add(obj, "opener_comm", json_object_new_string(ev->opener_comm));
	}
	vr_add(obj, "opens", json_object_new_uint64(ev->open_count));
	vr_add(obj, "releases", json_object_new_uint64(ev->release_count));
	vr_add(obj, "frees", json_object_new_uint64(ev->free_count));
	return obj;
}

static void vr_print_text(FILE *out, const struct vfio_release_event *ev)
{
	fprintf(out, "%-14s seq=%" PRIu64 " ts=%" PRIu64,
		vfio_release_event_name(ev->type), ev->seq, ev->timestamp_ns);
	if (ev->type == VFIO_RELEASE_CMD_RESYNC) {
		fprintf(out, " reason=%s lost=%" PRIu64 "\n", ev->local_overflow ?
			"socket-overflow" : vfio_release_resync_name(ev->resync_reason),
			ev->lost);
		return;
	}
	if (ev->has_group)
		fprintf(out, " group=%u", ev->iommu_group);
	if (vr_is_group_event(ev)) {
		fputc('\n', out);
		return;
	}
	fprintf(out, " device=%s state=%s reset=%s gen=%" PRIu64 " driver=%s",
		ev->device, vfio_release_state_name(ev->state),
		vfio_release_reset_name(ev->reset), ev->generation, ev->driver);
	if (ev->has_close)
		fprintf(out, " close_ns=%" PRIu64 " pid=%u comm=%s", ev->close_ns,
			ev->pid, ev->comm);
	if (ev->has_opener)
		fprintf(out, " opener_pid=%u opener_comm=%s", ev->opener_pid,
			ev->opener_comm);
	fputc('\n', out);
}

void vr_print_event(FILE *out, const struct vfio_release_event *ev, bool json)
{
	if (json) {
		json_object *obj = vr_event_json(ev);

		fprintf(out, "%s\n", json_object_to_json_string_ext(obj,
				JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
	} else {
		vr_print_text(out, ev);
	}
	fflush(out);
}

int vr_print_event_cb(const struct vfio_release_event *ev, void *json)
{
	vr_print_event(stdout, ev, *(bool *)json);
	return 0;
}
