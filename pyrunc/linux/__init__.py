"""The Linux subsystems: each module turns one part of config.json into launch-plan records
(see native/include/plan.h) or acts on the host for the container (cgroups, hooks, network)."""
