"""A minimal Kubernetes CRI client (runtime.v1.RuntimeService over gRPC), enough to run a pod
sandbox and a container the way the kubelet does. No crictl is packaged for Debian 12, so the
messages are described here, only the fields these tests use (proto3 numbering of the CRI
v1 API; unknown fields in the answers are skipped by protobuf)."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_STRING, _BOOL, _INT64, _INT32, _UINT32, _UINT64, _BYTES, _MSG, _ENUM = (
    _F.TYPE_STRING, _F.TYPE_BOOL, _F.TYPE_INT64, _F.TYPE_INT32, _F.TYPE_UINT32, _F.TYPE_UINT64,
    _F.TYPE_BYTES, _F.TYPE_MESSAGE, _F.TYPE_ENUM)
_REPEATED = "repeated"
_MAP = "map"

# message -> [(field, number, type, type name or None, "repeated"/"map"/None)]
_MESSAGES: dict[str, list[tuple[str, int, int, str | None, str | None]]] = {
    "VersionRequest": [("version", 1, _STRING, None, None)],
    "VersionResponse": [("version", 1, _STRING, None, None),
                        ("runtime_name", 2, _STRING, None, None),
                        ("runtime_version", 3, _STRING, None, None),
                        ("runtime_api_version", 4, _STRING, None, None)],
    "NamespaceOption": [("network", 1, _ENUM, "NamespaceMode", None),
                        ("pid", 2, _ENUM, "NamespaceMode", None),
                        ("ipc", 3, _ENUM, "NamespaceMode", None)],
    "LinuxSandboxSecurityContext": [("namespace_options", 1, _MSG, "NamespaceOption", None),
                                    ("privileged", 6, _BOOL, None, None)],
    "LinuxPodSandboxConfig": [("cgroup_parent", 1, _STRING, None, None),
                              ("security_context", 2, _MSG, "LinuxSandboxSecurityContext",
                               None)],
    "PodSandboxMetadata": [("name", 1, _STRING, None, None), ("uid", 2, _STRING, None, None),
                           ("namespace", 3, _STRING, None, None),
                           ("attempt", 4, _UINT32, None, None)],
    "PodSandboxConfig": [("metadata", 1, _MSG, "PodSandboxMetadata", None),
                         ("hostname", 2, _STRING, None, None),
                         ("log_directory", 3, _STRING, None, None),
                         ("linux", 8, _MSG, "LinuxPodSandboxConfig", None)],
    "RunPodSandboxRequest": [("config", 1, _MSG, "PodSandboxConfig", None),
                             ("runtime_handler", 2, _STRING, None, None)],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, _STRING, None, None)],
    "PodSandboxStatusRequest": [("pod_sandbox_id", 1, _STRING, None, None),
                                ("verbose", 2, _BOOL, None, None)],
    "PodSandboxNetworkStatus": [("ip", 1, _STRING, None, None)],
    "PodSandboxStatus": [("id", 1, _STRING, None, None), ("state", 3, _ENUM,
                                                          "PodSandboxState", None),
                         ("network", 5, _MSG, "PodSandboxNetworkStatus", None),
                         ("runtime_handler", 9, _STRING, None, None)],
    "PodSandboxStatusResponse": [("status", 1, _MSG, "PodSandboxStatus", None),
                                 ("info", 2, _MSG, "InfoEntry", _MAP)],
    "StopPodSandboxRequest": [("pod_sandbox_id", 1, _STRING, None, None)],
    "StopPodSandboxResponse": [],
    "RemovePodSandboxRequest": [("pod_sandbox_id", 1, _STRING, None, None)],
    "RemovePodSandboxResponse": [],
    "ImageSpec": [("image", 1, _STRING, None, None)],
    "KeyValue": [("key", 1, _STRING, None, None), ("value", 2, _STRING, None, None)],
    "ContainerMetadata": [("name", 1, _STRING, None, None),
                          ("attempt", 2, _UINT32, None, None)],
    "LinuxContainerResources": [("cpu_period", 1, _INT64, None, None),
                                ("cpu_quota", 2, _INT64, None, None),
                                ("cpu_shares", 3, _INT64, None, None),
                                ("memory_limit_in_bytes", 4, _INT64, None, None)],
    "Int64Value": [("value", 1, _INT64, None, None)],
    "UInt64Value": [("value", 1, _UINT64, None, None)],
    "Capability": [("add_capabilities", 1, _STRING, None, _REPEATED),
                   ("drop_capabilities", 2, _STRING, None, _REPEATED)],
    "SecurityProfile": [("profile_type", 1, _ENUM, "ProfileType", None),
                        ("localhost_ref", 2, _STRING, None, None)],
    "LinuxContainerSecurityContext": [("capabilities", 1, _MSG, "Capability", None),
                                      ("privileged", 2, _BOOL, None, None),
                                      ("namespace_options", 3, _MSG, "NamespaceOption", None),
                                      ("run_as_user", 5, _MSG, "Int64Value", None),
                                      ("readonly_rootfs", 7, _BOOL, None, None),
                                      ("no_new_privs", 11, _BOOL, None, None),
                                      ("run_as_group", 12, _MSG, "Int64Value", None),
                                      ("seccomp", 15, _MSG, "SecurityProfile", None)],
    "LinuxContainerConfig": [("resources", 1, _MSG, "LinuxContainerResources", None),
                             ("security_context", 2, _MSG, "LinuxContainerSecurityContext",
                              None)],
    "Mount": [("container_path", 1, _STRING, None, None), ("host_path", 2, _STRING, None, None),
              ("readonly", 3, _BOOL, None, None),
              ("propagation", 5, _ENUM, "MountPropagation", None)],
    "ContainerConfig": [("metadata", 1, _MSG, "ContainerMetadata", None),
                        ("image", 2, _MSG, "ImageSpec", None),
                        ("command", 3, _STRING, None, _REPEATED),
                        ("args", 4, _STRING, None, _REPEATED),
                        ("working_dir", 5, _STRING, None, None),
                        ("envs", 6, _MSG, "KeyValue", _REPEATED),
                        ("mounts", 7, _MSG, "Mount", _REPEATED),
                        ("log_path", 11, _STRING, None, None),
                        ("stdin", 12, _BOOL, None, None),
                        ("tty", 14, _BOOL, None, None),
                        ("linux", 15, _MSG, "LinuxContainerConfig", None)],
    "CreateContainerRequest": [("pod_sandbox_id", 1, _STRING, None, None),
                               ("config", 2, _MSG, "ContainerConfig", None),
                               ("sandbox_config", 3, _MSG, "PodSandboxConfig", None)],
    "CreateContainerResponse": [("container_id", 1, _STRING, None, None)],
    "StartContainerRequest": [("container_id", 1, _STRING, None, None)],
    "StartContainerResponse": [],
    "StopContainerRequest": [("container_id", 1, _STRING, None, None),
                             ("timeout", 2, _INT64, None, None)],
    "StopContainerResponse": [],
    "RemoveContainerRequest": [("container_id", 1, _STRING, None, None)],
    "RemoveContainerResponse": [],
    "ContainerStatusRequest": [("container_id", 1, _STRING, None, None),
                               ("verbose", 2, _BOOL, None, None)],
    "ContainerStatus": [("id", 1, _STRING, None, None),
                        ("state", 3, _ENUM, "ContainerState", None),
                        ("finished_at", 6, _INT64, None, None),
                        ("exit_code", 7, _INT32, None, None),
                        ("reason", 10, _STRING, None, None),
                        ("message", 11, _STRING, None, None),
                        ("log_path", 15, _STRING, None, None)],
    "ContainerStatusResponse": [("status", 1, _MSG, "ContainerStatus", None),
                                ("info", 2, _MSG, "InfoEntry", _MAP)],
    "UpdateContainerResourcesRequest": [("container_id", 1, _STRING, None, None),
                                        ("linux", 2, _MSG, "LinuxContainerResources", None)],
    "UpdateContainerResourcesResponse": [],
    "ContainerStatsRequest": [("container_id", 1, _STRING, None, None)],
    "CpuUsage": [("timestamp", 1, _INT64, None, None),
                 ("usage_core_nano_seconds", 2, _MSG, "UInt64Value", None)],
    "MemoryUsage": [("timestamp", 1, _INT64, None, None),
                    ("working_set_bytes", 2, _MSG, "UInt64Value", None),
                    ("usage_bytes", 4, _MSG, "UInt64Value", None)],
    "ContainerStats": [("cpu", 2, _MSG, "CpuUsage", None),
                       ("memory", 3, _MSG, "MemoryUsage", None)],
    "ContainerStatsResponse": [("stats", 1, _MSG, "ContainerStats", None)],
    "ExecSyncRequest": [("container_id", 1, _STRING, None, None),
                        ("cmd", 2, _STRING, None, _REPEATED),
                        ("timeout", 3, _INT64, None, None)],
    "ExecSyncResponse": [("stdout", 1, _BYTES, None, None), ("stderr", 2, _BYTES, None, None),
                         ("exit_code", 3, _INT32, None, None)],
}
_ENUMS = {
    "NamespaceMode": ["POD", "CONTAINER", "NODE", "TARGET"],
    "PodSandboxState": ["SANDBOX_READY", "SANDBOX_NOTREADY"],
    "ProfileType": ["RuntimeDefault", "Unconfined", "Localhost"],
    "MountPropagation": ["PROPAGATION_PRIVATE", "PROPAGATION_HOST_TO_CONTAINER",
                         "PROPAGATION_BIDIRECTIONAL"],
    "ContainerState": ["CONTAINER_CREATED", "CONTAINER_RUNNING", "CONTAINER_EXITED",
                       "CONTAINER_UNKNOWN"],
}
POD, CONTAINER, NODE = 0, 1, 2  # NamespaceMode; NODE network: hostNetwork (no CNI)
CONTAINER_RUNNING, CONTAINER_EXITED = 1, 2
HOST_TO_CONTAINER = 1  # MountPropagation: a volume with mountPropagation: HostToContainer
PACKAGE = "runtime.v1"


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name="pyrunc_e2e_cri.proto", package=PACKAGE,
                                               syntax="proto3")
    for name, values in _ENUMS.items():
        enum = proto.enum_type.add(name=name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field, number, kind, type_name, label in fields:
            entry = message.field.add(name=field, number=number, type=kind)
            entry.label = _F.LABEL_REPEATED if label else _F.LABEL_OPTIONAL
            if label == _MAP:  # map<string, string>: a nested entry message
                nested = message.nested_type.add(name="InfoEntry")
                nested.options.map_entry = True
                nested.field.add(name="key", number=1, type=_STRING, label=_F.LABEL_OPTIONAL)
                nested.field.add(name="value", number=2, type=_STRING, label=_F.LABEL_OPTIONAL)
                entry.type_name = f".{PACKAGE}.{name}.InfoEntry"
            elif type_name:
                entry.type_name = f".{PACKAGE}.{type_name}"
    return proto


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())


def message(type_name: str, /, **fields: Any) -> Any:
    cls = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{PACKAGE}.{type_name}"))
    return cls(**fields)


class RuntimeService:
    """runtime.v1.RuntimeService on containerd's socket: call(method, **request fields)."""

    def __init__(self, socket: str) -> None:
        self.channel = grpc.insecure_channel(f"unix://{socket}")

    def call(self, method: str, *, deadline: float = 120, **fields: Any) -> Any:
        """(``deadline``, in seconds, is the RPC's; a ``timeout`` is a request field.)"""
        request = message(f"{method}Request", **fields)
        response_cls = type(message(f"{method}Response"))
        stub = self.channel.unary_unary(f"/{PACKAGE}.RuntimeService/{method}",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response_cls.FromString)
        return stub(request, timeout=deadline)

    def close(self) -> None:
        self.channel.close()
