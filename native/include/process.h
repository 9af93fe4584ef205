/* The container process' attributes (init/process.c).
 * Plan records 0x0200-0x02ff; encoder: pyrunc/linux/process.py. */
#ifndef PYRUNC_PROCESS_H
#define PYRUNC_PROCESS_H

#include <stddef.h>
#include "plan.h"

struct process_plan;

struct process_plan *process_plan_new(void);
int process_plan_add(struct process_plan *pp, const struct plan_record *rec, char *err, size_t errlen);
/* After rootfs_finalize, before waiting for `start`: check the executable exists (so
 * `create` fails, as runc's does, for a missing binary), then rlimits, scheduler, ioprio,
 * personality, LSM labels, umask, user and groups, capabilities, no_new_privs. */
int process_apply(struct process_plan *pp, char *err, size_t errlen);
/* After `start` and the startContainer hooks: chdir(cwd), seccomp (last), execve.
 * Returns only on failure. */
int process_exec(struct process_plan *pp, char *err, size_t errlen);

#endif
