"""The container engine seam: what dockernet asks of Docker (or another engine).

Everything above this package sees plain values (``ContainerInfo``, events)
and dockernet errors, never a docker-py object or exception.
"""
