// SPDX-License-Identifier: LGPL-2.1-or-later
/* Placeholder: filled in by issue 8. */
#include "internal.h"
