// SPDX-License-Identifier: GPL-2.0-or-later
/* How the CLI prints events and records: escaped text, or JSON. */

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "output.h"

/* Attributes printed as a name rather than a number. */
static const char *vr_enum_name(enum vfio_release_attr attr, uint64_t v)
{
	switch (attr) {
	case VFIO_RELEASE_A_STATE:
		return vfio_release_state_name(v);
	case VFIO_RELEASE_A_RESET:
		return vfio_release_reset_name(v);
	case VFIO_RELEASE_A_RESYNC_REASON:
		return vfio_release_resync_name(v);
	default:
		return NULL;
	}
}

static const char *vr_event_label(const struct vfio_release_event *ev)
{
	enum vfio_release_notice notice = vfio_release_event_get_notice(ev);

	if (vfio_release_event_get_type(ev) == VFIO_RELEASE_CMD_UNSPEC && notice)
		return vfio_release_notice_name(notice);
	return vfio_release_event_name(vfio_release_event_get_type(ev));
}

/* CLOCK_MONOTONIC ns, as the kernel stamps events, to wall-clock time. */
static void vr_wall_time(uint64_t mono_ns, char *buf, size_t size)
{
	struct timespec mono, real;
	long long ns;
	time_t secs;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ns = (long long)real.tv_sec * 1000000000LL + real.tv_nsec -
	     ((long long)mono.tv_sec * 1000000000LL + mono.tv_nsec) + (long long)mono_ns;
	secs = ns / 1000000000LL;
	localtime_r(&secs, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03lld", (ns / 1000000) % 1000);
}

/* JSON wants UTF-8; a comm is whatever bytes a process chose. */
static bool vr_is_utf8(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 :
			(*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *s < 0xc2))
			return false;
		for (s++; n > 0; n--, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static json_object *vr_json_string(const char *s)
{
	char buf[512];

	if (vr_is_utf8((const unsigned char *)s))
		return json_object_new_string(s);
	vr_escape(s, buf, sizeof(buf));
	return json_object_new_string(buf);
}

json_object *vr_event_json(const struct vfio_release_event *ev)
{
	enum vfio_release_notice notice = vfio_release_event_get_notice(ev);
	json_object *obj = json_object_new_object();
	unsigned int attr;
	char when[40];

	json_object_object_add(obj, "schema", json_object_new_int(VR_JSON_SCHEMA));
	json_object_object_add(obj, "event", json_object_new_string(vr_event_label(ev)));
	if (notice)
		json_object_object_add(obj, "notice",
				       json_object_new_string(vfio_release_notice_name(notice)));
	for (attr = VFIO_RELEASE_A_DEVICE; attr <= VFIO_RELEASE_A_MAX; attr++) {
		const char *key = vfio_release_attr_name(attr), *s;
		uint64_t v;

		if (!key)
			continue;
		if (!vfio_release_event_get_string(ev, attr, &s)) {
			json_object_object_add(obj, key, vr_json_string(s));
		} else if (!vfio_release_event_get_u64(ev, attr, &v)) {
			const char *name = vr_enum_name(attr, v);
			char hex[20];

			/* A random 64-bit id is past what a double (jq) holds. */
			if (attr == VFIO_RELEASE_A_INSTANCE) {
				snprintf(hex, sizeof(hex), "%016" PRIx64, v);
				name = hex;
			}
			json_object_object_add(obj, key, name ? json_object_new_string(name) :
					       json_object_new_uint64(v));
		}
	}
	if (vfio_release_event_has(ev, VFIO_RELEASE_A_TIMESTAMP_NS)) {
		uint64_t ts;

		vfio_release_event_get_u64(ev, VFIO_RELEASE_A_TIMESTAMP_NS, &ts);
		vr_wall_time(ts, when, sizeof(when));
		json_object_object_add(obj, "time", json_object_new_string(when));
	}
	return obj;
}

void vr_escape(const char *value, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *value && n + 5 < size; value++) {
		unsigned char c = *value;

		if (c > ' ' && c < 0x7f && c != '=' && c != '\\' && c != '"') {
			buf[n++] = c;
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	buf[n] = '\0';
}

void vr_print_text(FILE *out, const struct vfio_release_event *ev, bool with_time)
{
	enum vfio_release_notice notice = vfio_release_event_get_notice(ev);
	unsigned int attr;
	char buf[512];
	uint64_t ts;

	if (with_time) {
		/* Library notices carry no kernel time: they happened now. */
		if (vfio_release_event_get_u64(ev, VFIO_RELEASE_A_TIMESTAMP_NS, &ts)) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			ts = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
		}
		vr_wall_time(ts, buf, sizeof(buf));
		fprintf(out, "%s ", buf);
	}
	fprintf(out, "%-15s", vr_event_label(ev));
	if (notice && vfio_release_event_get_type(ev) != VFIO_RELEASE_CMD_UNSPEC)
		fprintf(out, " notice=%s", vfio_release_notice_name(notice));
	for (attr = VFIO_RELEASE_A_DEVICE; attr <= VFIO_RELEASE_A_MAX; attr++) {
		const char *key = vfio_release_attr_name(attr), *s, *name;
		uint64_t v;

		if (!key)
			continue;
		if (!vfio_release_event_get_string(ev, attr, &s)) {
			vr_escape(s, buf, sizeof(buf));
			fprintf(out, " %s=%s", key, buf);
		} else if (!vfio_release_event_get_u64(ev, attr, &v)) {
			name = vr_enum_name(attr, v);
			if (name)
				fprintf(out, " %s=%s", key, name);
			else if (attr == VFIO_RELEASE_A_INSTANCE)
				fprintf(out, " %s=%016" PRIx64, key, v);
			else if (attr == VFIO_RELEASE_A_PCI_VENDOR ||
				 attr == VFIO_RELEASE_A_PCI_DEVICE)
				fprintf(out, " %s=%04" PRIx64, key, v);
			else
				fprintf(out, " %s=%" PRIu64, key, v);
		}
	}
	fputc('\n', out);
	fflush(out);
}

void vr_print_json_line(FILE *out, const struct vfio_release_event *ev)
{
	json_object *obj = vr_event_json(ev);

	fprintf(out, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	fflush(out);
}
