"""A private PostgreSQL 15 cluster for the tests: a real shared store (and the Redshift stand-in).

PostgreSQL refuses to run as root, and CI runs as root: initdb and the server run as the existing
non-root ``postgres`` user (``runuser -u postgres --`` when we are root), in a temporary directory that
user owns, on a free port on 127.0.0.1. The server is stopped by its pid at teardown, killed if it
does not stop, and the directory removed. Where the binaries (or a non-root user) are missing the
tests that need it skip, saying why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN_DIRS = [Path("/usr/lib/postgresql/15/bin")]
USER = "postgres"


class Unavailable(Exception):
    """No PostgreSQL can be started here (the reason is the message)."""


def _bin_dir() -> Path:
    for folder in BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).parent
    raise Unavailable("PostgreSQL 15 binaries (initdb, postgres) not found under /usr/lib/postgresql/15/bin "
                      "or on PATH")


def _as_user() -> list[str]:
    """The command prefix that runs a program as a non-root user ([] when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(USER)
    except KeyError as exc:
        raise Unavailable(f"running as root and no '{USER}' user to run PostgreSQL as") from exc
    # setpriv execs the program (its pid is the server's); runuser forks and does not pass on SIGINT,
    # so with runuser the server is stopped through the pid in postmaster.pid (see _stop)
    setpriv = shutil.which("setpriv")
    if setpriv:
        entry = pwd.getpwnam(USER)
        return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups"]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", USER, "--"]
    raise Unavailable("running as root and neither runuser nor setpriv to drop to a non-root user")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_pid(data: Path) -> int | None:
    """The postmaster's pid from its postmaster.pid (first line), if it is running."""
    try:
        return int((data / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(proc: subprocess.Popen[bytes], data: Path) -> None:
    """Fast shutdown (SIGINT) of the server by its pid; SIGKILL if it has not gone in 20 s."""
    pids = {proc.pid}
    server = _server_pid(data)
    if server is not None:
        pids.add(server)
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 20
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            if pid == proc.pid and proc.poll() is not None:
                break
            time.sleep(0.05)
    for pid in pids:
        if pid == proc.pid:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        elif _alive(pid):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def cluster() -> Iterator[str]:
    """Start a private cluster; yields the URL of its ``postgres`` database (user ``postgres``)."""
    bindir = _bin_dir()
    prefix = _as_user()
    root = Path(tempfile.mkdtemp(prefix="dbtcost-pg-"))
    proc: subprocess.Popen[bytes] | None = None
    data = root / "data"
    try:
        if prefix:
            entry = pwd.getpwnam(USER)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        log = root / "server.log"
        init = subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                               "--auth=trust", "-E", "UTF8", "--no-sync"],
                              capture_output=True, text=True, timeout=120, cwd=root)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        port = _free_port()
        # the server in the foreground of its own process: its pid is ours to stop
        with open(log, "wb") as out:
            proc = subprocess.Popen([*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                                     "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                                     "-c", "track_commit_timestamp=on", "-c", "fsync=off",
                                     "-c", "max_connections=100"],
                                    stdout=out, stderr=subprocess.STDOUT, cwd=root)
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(proc, port, log)
        yield url
    finally:
        if proc is not None:
            _stop(proc, data)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited at start: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            time.sleep(0.1)
            continue
        try:
            import sqlalchemy as sa

            engine = sa.create_engine(f"postgresql://postgres@127.0.0.1:{port}/postgres")
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            return
        except Exception:  # noqa: BLE001 - the server accepts TCP before it accepts logins
            time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not accept connections in 60 s: {log.read_text(errors='replace')[-2000:]}")


def fresh_database(server_url: str) -> str:
    """CREATE DATABASE with a unique name on the server; returns its URL."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # a generated identifier, not user input: CREATE DATABASE takes no bound parameter
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name
