"""The embedded PostgreSQL used when DATABASE_URL is unset.

`pgserver` (a pip-installed PostgreSQL) keeps its cluster in `.data/pg`. Where it cannot
be installed, the machine's own `initdb`/`pg_ctl` keep one in `.data/pg-system`. The
server listens on a Unix socket only and keeps running between commands, so a second
`make run` starts in seconds; `python -m loyalty_site.embedded_db stop` stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("LOYALTY_DATA_DIR") or Path(__file__).resolve().parent.parent / ".data")
DATABASE_NAME = "loyalty"
SUPERUSER = "postgres"
SERVICE_USER = "pgserver"  # PostgreSQL refuses to run as root; the same user pgserver uses


class EmbeddedDatabaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class Server:
    host: str  # the socket directory
    port: str
    user: str = SUPERUSER


_servers: dict[Path, Server] = {}


def ensure_server(data_dir: Path = DEFAULT_DATA_DIR, database: str = DATABASE_NAME) -> Server:
    """Start the embedded server if it is not running, create `database`, return where it listens."""
    data_dir = Path(data_dir).resolve()
    if data_dir in _servers:
        return _servers[data_dir]
    data_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(data_dir / ".lock"):
        if importlib.util.find_spec("pgserver") is None:
            server = _start_system_server(data_dir / "pg-system", find_system_binaries())
        else:
            server = _start_pgserver(data_dir / "pg")
        _create_database(server, database)
    _servers[data_dir] = server
    return server


def stop_server(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop whichever embedded server runs in `data_dir`; True if one was running."""
    data_dir = Path(data_dir).resolve()
    _servers.pop(data_dir, None)
    stopped = False
    for pgdata in (data_dir / "pg", data_dir / "pg-system"):
        if not (pgdata / "postmaster.pid").exists():
            continue
        pg_ctl = _pg_ctl_for(pgdata)
        if pg_ctl:
            subprocess.run(
                [pg_ctl, "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                user=_run_as(),
                check=False,
                capture_output=True,
            )
            stopped = True
    return stopped


# pgserver ------------------------------------------------------------------------------------


def _start_pgserver(pgdata: Path) -> Server:
    _give_pgserver_a_runtime_dir(pgdata.parent)
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    return Server(host=str(info.socket_dir), port=str(info.port))


def _give_pgserver_a_runtime_dir(data_dir: Path) -> None:
    # pgserver keeps a lock file in the runtime directory; give it one where none is set.
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = data_dir / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


# the machine's PostgreSQL --------------------------------------------------------------------


SYSTEM_PATTERNS = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"]


def find_system_binaries(patterns: list[str] = SYSTEM_PATTERNS, use_path: bool = True) -> Path:
    """The directory holding the machine's initdb and pg_ctl, newest version first."""
    candidates = []
    found = shutil.which("pg_ctl") if use_path else None
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for pattern in patterns:
        candidates.extend(sorted(glob.glob(pattern), key=_version_key, reverse=True))
    for directory in candidates:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    raise EmbeddedDatabaseError(
        "No PostgreSQL to start: the pip package 'pgserver' is not installed (it has wheels for "
        "Python 3.11 and 3.12 only) and no initdb/pg_ctl were found on this machine. Either use "
        "Python 3.11 or 3.12, or install PostgreSQL 14+ (Debian: apt-get install postgresql), or "
        "set DATABASE_URL=postgres://user:password@host:5432/loyalty to use an existing server."
    )


def _version_key(path: str) -> tuple:
    digits = "".join(c if c.isdigit() else " " for c in path).split()
    return tuple(int(d) for d in digits)


def _start_system_server(pgdata: Path, bindir: Path) -> Server:
    user = _run_as()
    socket_dir = _socket_dir(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        _hand_over(pgdata, user)
        _run(
            [bindir / "initdb", "-D", pgdata, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-instructions"],
            user,
        )
    if not _is_running(bindir, pgdata, user):
        _hand_over(socket_dir, user)
        _run(
            [
                bindir / "pg_ctl",
                "-D",
                pgdata,
                "-l",
                pgdata / "server.log",
                "-w",
                "-t",
                "30",
                "-o",
                f"-h '' -k {socket_dir}",
                "start",
            ],
            user,
        )
    port = _port_of(pgdata)
    return Server(host=str(socket_dir), port=port)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return SERVICE_USER


def _hand_over(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:  # the service user must be able to reach it
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o011)


def _socket_dir(pgdata: Path) -> Path:
    # A Unix socket path is limited to about 100 bytes.
    if len(str(pgdata)) < 80:
        return pgdata
    return Path(tempfile.gettempdir()) / f"loyalty-pg-{hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]}"


def _is_running(bindir: Path, pgdata: Path, user: str | None) -> bool:
    result = subprocess.run([str(bindir / "pg_ctl"), "-D", str(pgdata), "status"], user=user, capture_output=True)
    return result.returncode == 0


def _port_of(pgdata: Path) -> str:
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return lines[3].strip()


def _pg_ctl_for(pgdata: Path) -> str | None:
    if pgdata.name == "pg":
        _give_pgserver_a_runtime_dir(pgdata.parent)
        try:
            from pgserver._commands import POSTGRES_BIN_PATH
        except ImportError:
            return None
        return str(POSTGRES_BIN_PATH / "pg_ctl")
    try:
        return str(find_system_binaries() / "pg_ctl")
    except EmbeddedDatabaseError:
        return None


def _run(command: list, user: str | None) -> None:
    result = subprocess.run([str(c) for c in command], user=user, capture_output=True, text=True)
    if result.returncode != 0:
        raise EmbeddedDatabaseError(f"{Path(str(command[0])).name} failed:\n{result.stdout}{result.stderr}")


# shared --------------------------------------------------------------------------------------


def _create_database(server: Server, database: str) -> None:
    import psycopg
    from psycopg import sql

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(
                host=server.host, port=server.port, user=server.user, dbname="postgres", autocommit=True
            )
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        server = ensure_server()
        print(f"PostgreSQL is running: socket {server.host}, port {server.port}, database {DATABASE_NAME}")
    elif command == "stop":
        print("Stopped the embedded PostgreSQL." if stop_server() else "The embedded PostgreSQL was not running.")
    elif command == "url":
        server = ensure_server()
        print(f"postgresql://{server.user}@/{DATABASE_NAME}?host={server.host}&port={server.port}")
    else:
        print("usage: python -m loyalty_site.embedded_db [start|stop|url]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
