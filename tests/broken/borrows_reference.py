from reference import gelu  # noqa: F401
