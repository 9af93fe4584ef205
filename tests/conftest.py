from fixtures import make_bundle, nothing_leaks, pytest_configure, runtime

__all__ = ["make_bundle", "nothing_leaks", "pytest_configure", "runtime"]
