/* SPDX-License-Identifier: GPL-2.0 */
/* The one place the version lives; dkms.conf and packaging read it. */
#define VFIO_RELEASE_VERSION "0.1.0"
