"""The command line's root: the ``dockernet`` group, ``watch``, ``topology`` and ``completion``, and ``main``.

The other command groups live in a module each (``bridge_cmd``, ``netns_cmd``,
``dns_cmd``, ``examples_cmd``), imported only when a command line names one
(``lazy.LazyGroup``). ``main`` is the one place that prints an error or
chooses an exit status: click's usage errors (status 2), dockernet's typed
errors (``DockernetError.exit_code``) and an unexpected ``OSError`` each
become one line on stderr. Library code never prints or exits.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn

import click

from dockernet import __version__
from dockernet.cli.hostonly import refuse_in_image
from dockernet.cli.lazy import LazyGroup
from dockernet.cli.params import DOCKER_HOST, LISTEN, dns_options, host_netns_option, owner_options
from dockernet.errors import CannotListen, CannotOpenLog, DockernetError
from dockernet.logformat import one_line, setup_logging

if TYPE_CHECKING:
    from dockernet.runtime import Runtime
    from dockernet.watch.watcher import Watcher

log = logging.getLogger("dockernet")


# the command groups, a module each, imported when named (the watcher's start-up needs none of them)
@click.group(
    cls=LazyGroup,
    lazy={
        "bridge": "dockernet.cli.bridge_cmd:bridge",
        "netns": "dockernet.cli.netns_cmd:netns",
        "dns": "dockernet.cli.dns_cmd:dns",
        "examples": "dockernet.cli.examples_cmd:examples",
    },
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="dockernet")
@click.option(
    "--docker-host",
    envvar="DOCKER_HOST",
    type=DOCKER_HOST,
    help="Docker engine to talk to, e.g. unix:///var/run/docker.sock (default: $DOCKER_HOST, else the local socket).",
)
@click.option("--tls", "use_tls", is_flag=True, help="Use TLS to a tcp:// engine (implied by --tlsverify).")
@click.option("--tlsverify", is_flag=True, help="Use TLS and verify the engine's certificate against --tlscacert.")
@click.option(
    "--tlscacert",
    metavar="FILE",
    help="CA the engine's certificate must be signed by [default: $DOCKER_CERT_PATH/ca.pem].",
)
@click.option("--tlscert", metavar="FILE", help="Client certificate [default: $DOCKER_CERT_PATH/cert.pem].")
@click.option("--tlskey", metavar="FILE", help="Client key [default: $DOCKER_CERT_PATH/key.pem].")
@click.pass_context
def cli(
    ctx: click.Context,
    docker_host: str | None,
    use_tls: bool,
    tlsverify: bool,
    tlscacert: str | None,
    tlscert: str | None,
    tlskey: str | None,
) -> None:
    """Docker host networking on a network you already own.

    Publish containers in your own BIND9 zone with signed dynamic updates,
    and provision a zone for it. A remote engine is reached as with the
    docker CLI: --docker-host tcp://HOST:2376 with --tlsverify and the
    --tls* files, or DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.engine.address import EngineAddress

    ctx.obj = {"docker_host": EngineAddress.from_options(docker_host, use_tls, tlsverify, tlscacert, tlscert, tlskey)}


# --- watch ------------------------------------------------------------------


@cli.command()
@dns_options
@click.option(
    "--send-from",
    type=click.Choice(["host", "container"]),
    default="host",
    show_default=True,
    help="Where UPDATEs leave from: container sends each record's UPDATE from inside its container's "
    "network namespace, so a server granting updates by source address authorises the container.",
)
@click.option(
    "--docker-pid",
    envvar="DOCKER_PID",
    default="/var/run/docker.pid",
    show_default=True,
    show_envvar=True,
    help="Docker's pid file, consulted while waiting for the engine.",
)
@click.option(
    "--pidfile",
    envvar="DOCKERNET_PIDFILE",
    type=click.Path(dir_okay=False),
    show_envvar=True,
    help="Write the watcher's pid here (refused while another live watcher holds it).",
)
@click.option(
    "--resync-interval",
    envvar="DOCKERNET_RESYNC_INTERVAL",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    show_envvar=True,
    help="Seconds between full reconciles that repair drift.",
)
@click.option(
    "--settle-time",
    type=click.FloatRange(min=0),
    default=10,
    show_default=True,
    help="After (re)connecting to Docker, seconds before removals found by a full listing are made.",
)
@click.option("--cleanup-on-exit", is_flag=True, help="On SIGTERM/SIGINT, remove this owner's records before exiting.")
@click.option(
    "--metrics-listen",
    envvar="DOCKERNET_METRICS_LISTEN",
    metavar="HOST:PORT",
    type=LISTEN,
    show_envvar=True,
    help="Serve Prometheus /metrics and /healthz here, e.g. 127.0.0.1:9153.",
)
@click.option("--once", is_flag=True, help="Reconcile once and exit: 0 when everything was applied, 1 otherwise.")
@owner_options
@click.option(
    "--lease-interval",
    type=click.FloatRange(min=1, max=86400),
    default=60,
    show_default=True,
    help="Seconds between renewals of this owner id's lease record, its sign of life in the zone.",
)
@click.argument("log_to", metavar="[LOG]", default="-", required=False)
@click.pass_obj
def watch(
    obj,
    settings,
    send_from,
    docker_pid,
    pidfile,
    resync_interval,
    settle_time,
    cleanup_on_exit,
    metrics_listen,
    once,
    take_over_owner,
    adopt_owner,
    lease_interval,
    log_to,
):
    """Publish running containers as <hostname>.<zone>, following Docker events.

    A records for IPv4, AAAA for global IPv6 addresses, PTR records in
    --reverse-zone zones. Each name is sent as a TSIG-signed RFC 2136 update
    and carries an ownership mark (a TXT record), so dockernet only ever
    changes or removes records it wrote itself. A name the server rejects
    is set aside alone; no other container waits for it. LOG is a file
    path, or - for standard output.
    """
    # start-up time: --help and completion load no command's modules
    from dockernet.metrics import Health, NullMetrics
    from dockernet.runtime import build, build_watcher, watch_options

    _refuse_what_cannot_work(settings, obj["docker_host"], send_from, None if once else pidfile)
    _open_log(log_to)
    health, metrics = Health(), NullMetrics()
    if metrics_listen and not once:
        metrics = _serve_metrics(metrics_listen, health)
    settings = replace(settings, send_from=send_from, lease_interval=lease_interval, take_over_owner=take_over_owner)
    options = watch_options(
        settings,
        docker_pid=docker_pid,
        resync_interval=resync_interval,
        settle_time=settle_time,
        cleanup_on_exit=cleanup_on_exit,
        adopt_owner=adopt_owner,
    )
    runtime = build(settings, obj["docker_host"], metrics=metrics, health=health)
    watcher = build_watcher(runtime, options)
    if once:
        _reconcile_once(runtime, watcher)
    _run_until_stopped(runtime, watcher, pidfile)


def _refuse_what_cannot_work(settings, docker_host, send_from: str, pidfile: str | None) -> None:
    """Refuse in one line, before any work, what this process cannot do: in the image, or as this user."""
    # start-up time: --help and completion load no command's modules
    from dockernet.host.privileges import check_watch

    if send_from == "container":
        refuse_in_image("--send-from container")
    check_watch(settings, docker_host, send_from=send_from, pidfile=pidfile)


def _open_log(log_to: str) -> None:
    """LOG (a file, or - for stdout) before anything else: a file that cannot be opened stops the watcher at once."""
    try:
        setup_logging(log_to)
    except OSError as exc:
        raise CannotOpenLog(f"cannot open log file {log_to}: {exc.strerror}") from None


def _reconcile_once(runtime: Runtime, watcher: Watcher) -> NoReturn:
    """--once: one reconcile, and the exit status says whether every change was applied (for scripts and cron)."""
    ok = watcher.once()
    if not ok:
        log.error("Not every change was applied (%d pending)", len(runtime.reconciler.pending))
    sys.exit(0 if ok else 1)


def _run_until_stopped(runtime: Runtime, watcher: Watcher, pidfile: str | None) -> None:
    """The long run: the pid file held meanwhile, and the journal closed and the pid file released however it ends."""
    from dockernet import pidfile as pidfiles  # start-up time: only a running watcher holds a pid file

    if pidfile:
        pidfiles.acquire(pidfile)
    watcher.install_signal_handlers()
    target = runtime.nameserver.target
    log.info(
        "dockernet %s watching for zone %s via %s with %s, owner id %s",
        __version__,
        runtime.settings.zone,
        target.where,
        target.key,
        runtime.settings.owner_id,
    )
    try:
        watcher.run()
    except DockernetError as exc:
        log.error("%s", exc)
        raise
    finally:
        runtime.journal.close()
        if pidfile:
            pidfiles.release(pidfile)
    log.info("Stopped")


def _serve_metrics(listen, health):
    # only with --metrics-listen: the Prometheus client is not imported otherwise
    from dockernet.metrics import PrometheusMetrics, serve_metrics

    metrics = PrometheusMetrics()
    try:
        serve_metrics(listen, metrics, health)
    except OSError as exc:
        raise CannotListen(f"cannot listen on {listen[0]}:{listen[1]} for metrics: {exc.strerror}") from None
    return metrics


# --- topology ---------------------------------------------------------------------------


@cli.command()
@dns_options
@host_netns_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--dot", "as_dot", is_flag=True, help="Print Graphviz DOT (dockernet topology --dot | dot -Tsvg > host.svg)."
)
@click.option("--no-color", is_flag=True, help="No colour or symbols, even on a terminal.")
@click.pass_obj
def topology(obj, settings, host_netns, as_json, as_dot, no_color):
    """Bridges, their ports, the containers behind them, their addresses and DNS names, each name's state.

    A name is published (this owner's record for this container), held for
    another container, held by another owner or by hand (blocked), or
    missing. Reads the zone as 'dns ls' does (one AXFR, or a look-up per
    name); changes nothing.
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.host.topology import gather, render_dot, render_tree
    from dockernet.logformat import setup_logging
    from dockernet.runtime import build

    refuse_in_image("topology")
    if as_json and as_dot:
        raise click.UsageError("--json and --dot exclude each other")
    setup_logging(None)  # warnings (a zone that may not be transferred) go to stderr, the drawing to stdout
    runtime = build(settings, obj["docker_host"], read_only=True)
    runtime.resolve_reverse_zones()
    drawn = gather(runtime, host_netns)
    if as_json:
        click.echo(json.dumps(drawn.to_dict(), indent=2))
    elif as_dot:
        click.echo(render_dot(drawn), nl=False)
    else:
        click.echo(render_tree(drawn, color=sys.stdout.isatty() and not no_color))


# --- completion -------------------------------------------------------------------------


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the Tab completion script for SHELL (netns commands also complete running container names).

    \b
    bash:  eval "$(dockernet completion bash)"       (in ~/.bashrc)
    zsh:   eval "$(dockernet completion zsh)"        (in ~/.zshrc)
    fish:  dockernet completion fish > ~/.config/fish/completions/dockernet.fish
    """
    # loaded when the command runs: --help and shell completion import click alone
    from dockernet.cli.completion import script

    click.echo(script(cli, shell))


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one line on stderr and an exit code, click's own included."""
    try:
        status = cli.main(args=argv, prog_name="dockernet", standalone_mode=False)
    except _NO_ARGS_IS_HELP as exc:  # click >= 8.2: a bare group prints its help, as a usage error
        click.echo(exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _fail(exc.format_message() + where, 2)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        _fail("aborted", 1)
    except DockernetError as exc:
        _fail(str(exc), exc.exit_code)
    except OSError as exc:  # the last net: a file or socket error nobody expected is still one line
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", 1)
    sys.exit(status if isinstance(status, int) else 0)


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _fail(message: str, code: int) -> None:
    click.echo(f"dockernet: error: {one_line(message)}", err=True)
    sys.exit(code)
