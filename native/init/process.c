/* STUB: replaced by the process implementation. Keeps the init linkable meanwhile. */
#include <stdlib.h>
#include "process.h"
struct process_plan { int unused; };
struct process_plan *process_plan_new(void) { return calloc(1, sizeof(struct process_plan)); }
int process_plan_add(struct process_plan *pp, const struct plan_record *rec, char *err, size_t errlen) { return 0; }
int process_apply(struct process_plan *pp, char *err, size_t errlen) { return 0; }
int process_exec(struct process_plan *pp, char *err, size_t errlen) { return -1; }
