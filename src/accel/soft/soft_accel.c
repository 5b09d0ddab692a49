/* Placeholder until the software CPU lands: an ops table with no vcpu_run
 * tells accel__probe_host() that the soft backend is unavailable. */
#include "accel/accel.h"

const struct accel_ops soft_accel_ops = {
	.name = "soft",
};
