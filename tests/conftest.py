from fixtures import (
    make_bundle,
    nothing_leaks,
    pytest_configure,
    runtime,
    shared_rootfs_left_as_found,
)

__all__ = ["make_bundle", "nothing_leaks", "pytest_configure", "runtime",
           "shared_rootfs_left_as_found"]
