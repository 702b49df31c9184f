"""Where ``bridge setup`` puts Docker's bridge settings, across daemon.json and DOCKER_OPTS.

Docker reads its settings from two files, and from the flags on the unit's
ExecStart line, and refuses to start when a setting reaches it twice:

* ``daemon.json`` (``host.daemonjson``): JSON, every key of the user's kept;
* ``/etc/default/docker`` (``host.dockeropts``): ``DOCKER_OPTS``, a shell
  variable sourced by Docker's init script or read by systemd's
  ``EnvironmentFile=``;
* the docker unit and its drop-ins (``host.dockerunit``): whether anything
  reads DOCKER_OPTS, and flags dockernet cannot change.

``place_settings`` writes the settings into the chosen file and takes from
the other one whatever would then be given twice; ``pool_overlaps`` finds
default address pools that would hand out the bridge's addresses. The
ifupdown stanza (``host.ifupdown``) keeps the bridge across a reboot. All of
it maps old text to new text; ``host.filechange`` reads and writes.
"""

from __future__ import annotations

import ipaddress

from dockernet.bridge import BridgeSpec
from dockernet.host.daemonjson import bridge_setting, inside, merge_daemon_json, parse_daemon_json, strip_daemon_json
from dockernet.host.dockeropts import OWNED_FLAGS, docker_opts, flags_in, rewrite_docker_opts, split_flag

#: the keys only ``--cidr6`` makes dockernet's: without it, Docker's IPv6 settings are left as they are
IPV6_KEYS = frozenset({"ipv6", "fixed-cidr-v6"})
#: the keys ``bridge setup`` writes where Docker reads its bridge settings, besides bridge or bip
WRITTEN = frozenset({"dns", "dns-search"})


def fixed_cidr_outside(values: list, network: ipaddress.IPv4Network) -> bool:
    """Whether any fixed-cidr given lies outside the new subnet (dockerd refuses to start then)."""
    return any(not inside(value, network) for value in values)


def place_settings(
    daemon_text: str | None,
    defaults_text: str | None,
    spec: BridgeSpec,
    place: str,
    opts_read: bool,
    path: str = "daemon.json",
    defaults_path: str = "DOCKER_OPTS file",
) -> tuple[str | None, str | None]:
    """daemon.json and the defaults file after pointing Docker at the bridge from ``place``.

    ``place`` (daemon-json or docker-opts) gets bip or bridge
    (``bridge_setting``), dns and dns-search; the other file loses every
    setting that would then be given twice (dockerd refuses a key that is
    both a flag and in daemon.json), the excluded one of bip and bridge goes
    from both, and so does a ``fixed-cidr`` outside the
    new subnet. The other file's remaining settings are kept; DOCKER_OPTS is
    left alone where nothing reads it.
    """
    settings = parse_daemon_json(daemon_text, path)
    flags = flags_in(docker_opts(defaults_text, defaults_path))
    fixed = [settings["fixed-cidr"]] if "fixed-cidr" in settings else []
    fixed += flags.get("fixed-cidr", []) if opts_read else []
    key, excluded = bridge_setting(spec)
    written = (
        {key} | (WRITTEN if spec.dns_search else WRITTEN - {"dns-search"}) | (IPV6_KEYS if spec.interface6 else set())
    )
    gone = {excluded} | ({"fixed-cidr"} if fixed_cidr_outside(fixed, spec.network) else set())
    if place == "daemon-json":
        daemon_after: str | None = merge_daemon_json(daemon_text, spec, path)
        drop = frozenset(written | gone | ({"fixed-cidr"} & settings.keys()))
        defaults_after = (
            rewrite_docker_opts(defaults_text, None, drop, defaults_path)
            if opts_read and defaults_text
            else defaults_text
        )
        if defaults_after is not None and (
            flags_in(docker_opts(defaults_after, defaults_path)) == flags_in(docker_opts(defaults_text, defaults_path))
        ):
            defaults_after = defaults_text  # nothing of ours was there: the file stays byte-identical
        return daemon_after, defaults_after
    kept = {"fixed-cidr"} | (set() if spec.interface6 else IPV6_KEYS)
    drop = frozenset(set(OWNED_FLAGS.values()) - kept | gone)
    defaults_after = rewrite_docker_opts(defaults_text, spec, drop, defaults_path)
    fixed_flag = bool(flags_in(docker_opts(defaults_after, defaults_path)).get("fixed-cidr"))
    daemon_after = strip_daemon_json(
        daemon_text, frozenset(written | gone | ({"fixed-cidr"} if fixed_flag else set())), path
    )
    return daemon_after, defaults_after


def pool_overlaps(settings: dict, opts_words: list[str], network: ipaddress.IPv4Network) -> list[str]:
    """Docker's default address pools that overlap the bridge's subnet (its user networks would collide with it)."""
    bases = []
    for pool in settings.get("default-address-pools") or []:
        if isinstance(pool, dict) and pool.get("base"):
            bases.append(("daemon.json", str(pool["base"])))
    for i, word in enumerate(opts_words):
        name, value = split_flag(word)
        if name == "default-address-pool":
            given = value if value is not None else (opts_words[i + 1] if i + 1 < len(opts_words) else "")
            fields = dict(part.split("=", 1) for part in given.split(",") if "=" in part)
            if fields.get("base"):
                bases.append(("DOCKER_OPTS", fields["base"]))
    found = []
    for where, base in bases:
        try:
            pool = ipaddress.ip_network(base, strict=False)
        except ValueError:
            continue
        if pool.version == network.version and pool.overlaps(network):
            found.append(f"the default address pool {base} in {where} overlaps {network}")
    return found
