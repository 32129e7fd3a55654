"""Who may reach ``briefings serve``: loopback is safe, anything else needs the UI login and the API token.

Checked before the model loads, so a mistake costs a one-line error instead of a server that starts open.
Owns the address checks and the ``--auth`` format; must not start a server, read the environment or touch
the service.
"""

from __future__ import annotations

import logging

from assistant.errors import ConfigurationError

log = logging.getLogger("briefings")


def parse_auth(value: str) -> tuple[str, str]:
    """``USER:PASSWORD`` as Gradio's login wants it; the password may itself contain colons."""
    user, _, password = value.partition(":")
    if not user or not password:
        raise ConfigurationError("--auth must be USER:PASSWORD, both non-empty")
    return user, password


def is_loopback(host: str) -> bool:
    """Only this machine can reach the address (``localhost``, 127.0.0.0/8, ``::1``)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything, so it is not loopback
        return False


def guard_exposure(host: str, ui_protected: bool, api_protected: bool, insecure: bool) -> None:
    """Beyond loopback both the UI and the API need protecting, unless ``--insecure`` insists (then say so)."""
    unguarded = " and ".join(unprotected_doors(host, ui_protected, api_protected))
    if unguarded and not insecure:
        raise ConfigurationError(
            f"Refusing to serve on {host} without {unguarded}: anyone on the network could use it "
            "(add them, bind 127.0.0.1, or pass --insecure)"
        )
    if unguarded:
        log.warning("serving on %s without %s (--insecure)", host, unguarded)


def unprotected_doors(host: str, ui_protected: bool, api_protected: bool) -> list[str]:
    """What is missing to expose the UI and the API beyond loopback (nothing is, on loopback)."""
    if is_loopback(host):
        return []
    doors = (("--auth USER:PASSWORD", ui_protected), ("BRIEFINGS_API_TOKEN", api_protected))
    return [what for what, protected in doors if not protected]


def ensure_port_free(host: str, port: int) -> None:
    """Say plainly that the port is taken, instead of a server log line after the model has loaded."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            raise ConfigurationError(
                f"Cannot listen on {host}:{port} ({error.strerror or error}): is another server running? "
                "Pick another with --port"
            ) from None
