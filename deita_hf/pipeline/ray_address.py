"""Check a Ray cluster address before ``ray.init`` (``deita-hf score --engine ray --address``),
and the bound on Ray Data's actor restarts.

``ray.init(address="HOST:PORT")`` with nothing listening retries for minutes without a word, a
malformed address (``bogus::host``) and ``ray://`` without the Ray Client (``ray[client]``:
``grpcio``) end in tracebacks. :func:`check_address` turns each into one line within seconds:
the address is parsed, the client's presence checked for ``ray://``, and the host's port is
probed with a TCP connection (``timeout`` seconds). ``auto``, ``local`` and None (start a local
Ray) are left to Ray.

Ray Data restarts a dead actor and retries its task forever by default (``max_restarts=-1``):
a crash that repeats every time, such as running out of memory, would never end.
:data:`ACTOR_RESTARTS` bounds both; :func:`map_batches_bounded` passes them to ``map_batches``
(as extra remote arguments, the way Ray's actor-pool code documents; Ray 2.60 deprecates
those, so the one deprecation warning of that call is silenced there).

Example:
    >>> check_address("bogus::host")
    Traceback (most recent call last):
    ...
    deita_hf.errors.ConfigError: --address 'bogus::host' is not a Ray address: give HOST:PORT (the head node's GCS port, e.g. 10.0.0.1:6379), ray://HOST:PORT (Ray Client), auto or local.
    >>> ACTOR_RESTARTS
    {'max_restarts': 3, 'max_task_retries': 3}
"""

from __future__ import annotations

import importlib.util
import socket
import warnings
from typing import Any

from deita_hf.errors import ConfigError, DeitaError

__all__ = ["ACTOR_RESTARTS", "CLIENT_INSTALL", "check_address", "map_batches_bounded",
           "parse_address", "workers_died_error"]

#: Ray Data's actor restarts and task retries per actor (Ray's default: unbounded)
ACTOR_RESTARTS = {"max_restarts": 3, "max_task_retries": 3}
#: what ``ray://`` addresses need
CLIENT_INSTALL = "pip install 'ray[client]'"
_PASS_THROUGH = ("auto", "local")


def parse_address(address: str) -> tuple[str | None, str, int]:
    """``(scheme or None, host, port)`` of ``HOST:PORT`` or ``SCHEME://HOST:PORT``.

    Args:
        address: the address.

    Returns:
        Its parts (IPv6 hosts in brackets, ``[::1]:6379``).

    Raises:
        ConfigError: not of that form (one line, with the forms accepted).

    Example:
        >>> parse_address("ray://10.0.0.1:10001"), parse_address("[::1]:6379")
        (('ray', '10.0.0.1', 10001), (None, '::1', 6379))
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = None, address
    host, port = None, None
    if rest.startswith("["):
        inside, _, tail = rest[1:].partition("]")
        host, port = inside, tail[1:] if tail.startswith(":") else None
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    if not host or not port or not port.isdigit() or not 0 < int(port) < 65536 \
            or any(c.isspace() or c in "/@" for c in host) or not (scheme is None or scheme.isalpha()):
        raise ConfigError(f"--address {address!r} is not a Ray address: give HOST:PORT (the head "
                          f"node's GCS port, e.g. 10.0.0.1:6379), ray://HOST:PORT (Ray Client), "
                          f"auto or local.")
    return scheme, host, int(port)


def check_address(address: str | None, *, timeout: float = 5.0) -> None:
    """Refuse, in one line and within ``timeout`` seconds, a Ray address that cannot work.

    Args:
        address: ``--address`` (None, ``auto`` and ``local`` are Ray's to resolve).
        timeout: seconds to wait for the host's port to accept a TCP connection.

    Raises:
        ConfigError: a malformed address, ``ray://`` without the Ray Client installed, or a
            host:port where nothing answers.
    """
    if address is None or address.strip().lower() in _PASS_THROUGH:
        return
    scheme, host, port = parse_address(address.strip())
    if scheme == "ray" and importlib.util.find_spec("grpc") is None:
        raise ConfigError(f"--address {address!r} uses the Ray Client, which is not installed: "
                          f"{CLIENT_INSTALL} (or give the head node's HOST:PORT).")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ConfigError(f"--address {address!r}: nothing answers at {host}:{port} within "
                          f"{timeout:g} s ({reason}). Start the cluster (`ray start --head`) or "
                          f"pass its address (HOST:PORT).") from None


def workers_died_error(err: BaseException) -> DeitaError:
    """The one line for a run whose Ray workers died more often than :data:`ACTOR_RESTARTS`
    allows (a crash that repeats: out of memory, a segfault, a killed process).

    Args:
        err: Ray's ``RayActorError`` (``ActorDiedError``, ...).

    Returns:
        A :class:`~deita_hf.errors.DeitaError` to raise.

    Example:
        >>> print(workers_died_error(RuntimeError("The actor died unexpectedly.")))
        a Ray worker died 4 times (max_restarts 3): The actor died unexpectedly. Finished shards are kept; look for the cause (out of memory? see the worker logs under /tmp/ray/session_latest/logs), fix it and run the same command again.
    """
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return DeitaError(f"a Ray worker died {ACTOR_RESTARTS['max_restarts'] + 1} times (max_restarts "
                      f"{ACTOR_RESTARTS['max_restarts']}): {first} Finished shards are kept; "
                      f"look for the cause (out of memory? see the worker logs under "
                      f"/tmp/ray/session_latest/logs), fix it and run the same command again.")


def map_batches_bounded(dataset: Any, fn: Any, **kwargs: Any) -> Any:
    """``dataset.map_batches(fn, **kwargs)`` with the actors' restarts and task retries bounded
    by :data:`ACTOR_RESTARTS`.

    Args:
        dataset: a ``ray.data.Dataset``.
        fn: the callable class of the actors.
        **kwargs: ``map_batches`` arguments.

    Returns:
        The mapped dataset (lazy).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*`ray_remote_args` is deprecated")
        return dataset.map_batches(fn, **kwargs, **ACTOR_RESTARTS)
