"""Test-only pause points in `create`, for tests/test_crash.py.

``PYRUNC_TEST_PAUSE_AT=<step>`` makes `create` stop itself (SIGSTOP) when it reaches <step>;
the test then SIGKILLs it there and checks that ``delete --force`` cleans up completely. A
stopped process is killed at exactly the point named, which no sleep or polling from outside
could promise. Unset (always, outside the tests) a point costs one environment lookup; only
`create` and `run` reach these points: no hot command imports this module.

Steps, in order: claimed (state dir made, nothing spawned), fifo (exec fifo made), spawned
(stage 1 running), cloned (container init exists, its pid not yet recorded), recorded (pid and
cgroup paths in state.json, no cgroup made yet), cgroup (init in its cgroups), hooks (prestart
and createRuntime hooks done, GO not sent), ready (mounts done, init waiting on the fifo,
state still "creating"), created (state "created", pyrunc about to exit).
"""

from __future__ import annotations

import os

ENV = "PYRUNC_TEST_PAUSE_AT"
STEPS = ("claimed", "fifo", "spawned", "cloned", "recorded", "cgroup", "hooks", "ready",
         "created")


def pause_at(step: str) -> None:
    if os.environ.get(ENV) == step:
        os.kill(os.getpid(), 19)  # SIGSTOP (the signal module would import enum: ~5 ms)
