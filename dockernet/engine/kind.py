"""Which engine answers at an address, asked of the engine itself (``/version``, ``/info``), never read off a path.

Docker and Podman speak the same API with differences (``podman``): the kind
decides which dialect dockernet speaks, and whether the engine is rootless.
A rootless engine puts its containers in a network namespace of its own
(slirp4netns, pasta, RootlessKit): their addresses are not reachable from
the host or the LAN, and there is no bridge on the host.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineKind:
    """The product, its version and API version, and whether it runs rootless."""

    product: str
    version: str
    api_version: str
    rootless: bool

    @property
    def podman(self) -> bool:
        return self.product == "Podman"

    def __str__(self) -> str:
        rootless = ", rootless" if self.rootless else ""
        return f"{self.product} {self.version} (API {self.api_version}{rootless})"


def is_podman(version: dict) -> bool:
    """Podman's Docker-compatible API names a component "Podman Engine" in ``/version``; Docker's, "Engine"."""
    return any("podman" in str(part.get("Name") or "").lower() for part in version.get("Components") or () if part)


def engine_kind(version: dict, info: dict, libpod_info: dict | None = None) -> EngineKind:
    """The kind from ``GET /version`` and ``GET /info`` (and Podman's ``GET /libpod/info``).

    Docker says rootless in ``/info``'s ``SecurityOptions`` (``name=rootless``);
    Podman 4.3's compat ``/info`` does not, its own ``/libpod/info`` does
    (``host.security.rootless``).
    """
    podman = next((part for part in version.get("Components") or () if is_podman({"Components": [part]})), None)
    options = [str(option) for option in info.get("SecurityOptions") or ()]
    return EngineKind(
        product="Podman" if podman is not None else "Docker",
        version=str((podman or {}).get("Version") or version.get("Version") or "?"),
        api_version=str(version.get("ApiVersion") or "?"),
        rootless=any(option.split(",")[0] == "name=rootless" for option in options)
        or bool(((libpod_info or {}).get("host") or {}).get("security", {}).get("rootless")),
    )
