"""The data directory: one server at a time, and files only the server's user can read."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest

from augenmass.server.spool import submit

from .helpers import CLI, ServerProcess, free_port, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
settings: {max_check_spread: 1s}
hosts: {app: {address: 127.0.0.1}}
services:
  - {name: broken, host: app, check_interval: 1s, max_check_attempts: 1,
     check: {type: dummy, state: critical, output: disk on fire}}
"""


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "augenmass.yaml"
    cfg.write_text(CONFIG)
    return cfg


def _run(cfg: Path, data: Path, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    listen = f"127.0.0.1:{free_port()}"
    return subprocess.run(
        [*CLI, "run", "--config", str(cfg), "--data", str(data), "--listen", listen],
        capture_output=True,
        text=True,
        timeout=30,
        umask=umask,
    )


def test_a_second_server_on_the_same_data_is_refused_and_the_first_keeps_running(
    tmp_path: Path,
) -> None:
    cfg = _config(tmp_path)
    first = ServerProcess(cfg, tmp_path / "data").start()
    try:
        assert first.proc is not None
        lock_file = first.data / "augenmass.lock"
        assert lock_file.read_text().startswith(f"{first.proc.pid} ")
        assert lock_file.read_text().endswith(" server\n")

        second = _run(cfg, first.data)
        assert second.returncode == 1  # not 2: the configuration is fine
        assert f"pid {first.proc.pid}" in second.stderr
        assert "another augenmass server" in second.stderr
        # the loser touched nothing: the lock file still names the first, which still serves
        assert lock_file.read_text().startswith(f"{first.proc.pid} ")
        assert first.health()["status"] == "ok"

        # kill -9 leaves the lock file behind, but not the lock: the next start succeeds
        first.kill9()
        assert lock_file.exists()
        first.start()
        assert lock_file.read_text().startswith(f"{first.proc.pid} ")
        assert first.health()["services"] == 1
    finally:
        first.stop()


def test_every_file_in_the_data_directory_is_private_whatever_the_umask(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    data = tmp_path / "data"
    # An earlier, looser run left a readable directory and files behind.
    (data / "commands").mkdir(parents=True)
    data.chmod(0o755)
    (data / "commands").chmod(0o755)
    leftover = data / "augenmass.db.handling.json"
    leftover.write_text('{"version": 1, "acks": {}, "downtimes": {}}')
    leftover.chmod(0o644)

    old = os.umask(0o022)
    try:
        # the command line spools as whoever runs it, with their umask
        spooled = submit(data, {"action": "downtime", "host": "app", "duration": 7200})
    finally:
        os.umask(old)
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600

    # the first admin is often added before the server ever ran: it creates the database
    added = subprocess.run(
        [*CLI, "user", "add", "admin", "--role", "admin", "--password-stdin", "--data", str(data)],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        umask=0o022,
    )
    assert added.returncode == 0, added.stderr

    port = free_port()
    log = tmp_path / "server.log"  # outside the data directory: it is the test's file
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [*CLI, "run", "--config", str(cfg), "--data", str(data)]
            + ["--listen", f"127.0.0.1:{port}"],
            stdout=logf,
            stderr=logf,
            umask=0o022,
            start_new_session=True,
        )
    try:
        # the spooled downtime is applied: the sidecar is rewritten, the WAL is in use
        wait_for(lambda: not any((data / "commands").glob("*.json")), 30, "the command")
        wait_for(lambda: "app" in leftover.read_text(), 30, "the sidecar with the downtime")
        wait_for(lambda: (data / "augenmass.db-wal").exists(), 30, "the WAL file")
        names = {p.name for p in data.iterdir()}
        assert {
            "augenmass.db",
            "augenmass.db-wal",
            "augenmass.db-shm",
            "augenmass.db.handling.json",
            "augenmass.lock",
            "commands",
        } <= names, names
        loose = []
        for path in [data, *data.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            if mode & ~wanted:
                loose.append(f"{path.relative_to(tmp_path)} {mode:o}")
        assert not loose, loose
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# --- `augenmass reload` signals the server that holds the lock, and nothing else -------------


def _pending(pid: int, sig: signal.Signals) -> bool:
    """Is `sig` pending for `pid`? kill() queues a signal before it returns, so a process that
    is alive with nothing pending after the sender exited has not been sent it."""
    bit = 1 << (sig - 1)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & bit:
            return True
    return False


def _untouched(proc: subprocess.Popen[bytes]) -> bool:
    return proc.poll() is None and not _pending(proc.pid, signal.SIGHUP)


def _reload(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "reload", "--data", str(data)], capture_output=True, text=True, timeout=60
    )


def test_reload_after_kill_9_never_signals_the_process_that_got_the_pid(tmp_path: Path) -> None:
    server = ServerProcess(_config(tmp_path), tmp_path / "data").start()
    server.kill9()
    # What the bug did: the pid in the files left behind now belongs to something else.
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        (server.data / "augenmass.pid").write_text(f"{sleeper.pid}\n")  # an older version's
        (server.data / "augenmass.lock").write_text(f"{sleeper.pid}\n")
        out = _reload(server.data)
        assert out.returncode == 1
        assert out.stderr.strip() == (
            f"augenmass: no augenmass server is running on {server.data} (nothing holds "
            f"{server.data / 'augenmass.lock'}); nothing was signalled"
        )
        assert _untouched(sleeper)
    finally:
        sleeper.kill()
        sleeper.wait(timeout=10)


def test_reload_refuses_a_held_lock_whose_pid_is_not_the_server_that_took_it(
    tmp_path: Path,
) -> None:
    import fcntl
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    lock = data / "augenmass.lock"
    sleep = shutil.which("sleep")
    assert sleep is not None
    sleeper = subprocess.Popen(["sleep", "300"])
    # named like us (argv[0]), but started after the lock file was written (start time 1)
    impostor = subprocess.Popen(["augenmass-impostor", "300"], executable=sleep)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held, as by a server, while the file names another
        cases = [
            (f"{sleeper.pid}\n", f"pid {sleeper.pid} in it is not an augenmass server (sleep 300)"),
            (
                f"{impostor.pid} 1 server\n",
                f"pid {impostor.pid} in it is a later process than the one that took the lock",
            ),
            (f"{os.getpid()} 1 restore\n", "augenmass restore"),
        ]
        for text, reason in cases:
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode(), 0)
            out = _reload(data)
            assert out.returncode == 1, out
            assert len(out.stderr.splitlines()) == 1 and reason in out.stderr, out.stderr
            assert "nothing was signalled" in out.stderr
        assert _untouched(sleeper) and _untouched(impostor)
    finally:
        os.close(fd)
        for proc in (sleeper, impostor):
            proc.kill()
            proc.wait(timeout=10)


def _health(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as resp:
        return bytes(resp.read())


def test_reload_reaches_the_running_server_also_while_it_is_starting(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [*CLI, "run", "--config", str(cfg), "--data", str(data)]
            + ["--listen", f"127.0.0.1:{port}"],
            stdout=logf,
            stderr=logf,
            start_new_session=True,
        )
    try:
        # As soon as the lock names it: usually while it still loads its config and store
        # (SIGHUP would have ended it there); either way it must survive and reload once.
        lock = data / "augenmass.lock"
        wait_for(lambda: lock.read_text().startswith(f"{proc.pid} "), 30, "the lock")
        first = _reload(data)
        assert first.returncode == 0, first.stderr
        assert f"reload requested (pid {proc.pid})" in first.stdout
        wait_for(lambda: "msg=reloaded" in log.read_text(), 30, "the reload in the log")
        wait_for(lambda: _health(port), 30, "the health endpoint")

        second = _reload(data)  # and the ordinary case, once it serves
        assert second.returncode == 0, second.stderr
        wait_for(lambda: log.read_text().count("msg=reloaded") == 2, 30, "the second reload")
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, log.read_text()
    assert log.read_text().count("msg=reloaded") == 2, log.read_text()


# --- a data path of the wrong kind, or one that may not be used: one line naming it, exit 1 ---


def _one_line(out: subprocess.CompletedProcess[str], path: Path, problem: str) -> None:
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"{path}: " in lines[0] and problem in lines[0], lines[0]


WRONG_KIND = {
    "data-is-a-file": ("", "is a file, but the data directory must be a directory"),
    "data-under-a-file": ("data", "is a file, not a directory"),
    "database-is-a-directory": ("augenmass.db", "is a directory, but the database must be a file"),
    "lock-is-a-directory": ("augenmass.lock", "is a directory, but the lock file must be a file"),
    "spool-is-a-file": ("commands", "is a file, but the command spool must be a directory"),
}


@pytest.mark.parametrize("case", sorted(WRONG_KIND))
def test_a_data_path_of_the_wrong_kind_is_one_clear_line_and_exit_1(
    tmp_path: Path, case: str
) -> None:
    cfg = _config(tmp_path)
    name, problem = WRONG_KIND[case]
    data = tmp_path / "data"
    if case == "data-is-a-file":
        data.write_text("")
        path = data
    elif case == "data-under-a-file":
        (tmp_path / "file").write_text("")
        data = path = tmp_path / "file" / name
    elif case == "spool-is-a-file":
        data.mkdir()
        path = data / name
        path.write_text("")
    else:
        data.mkdir()
        path = data / name
        path.mkdir()
    _one_line(_run(cfg, data), path, problem)
    if case == "database-is-a-directory":
        # the commands that open the store say the same; nothing was taken for a corrupt file
        for args in (["status"], ["user", "list"], ["notify", "log"]):
            out = subprocess.run(
                [*CLI, *args, "--data", str(data)], capture_output=True, text=True, timeout=60
            )
            _one_line(out, path, problem)
        assert path.is_dir() and not list(data.glob("*corrupt*"))


def _add_user(data: Path) -> None:
    out = subprocess.run(
        [*CLI, "user", "add", "admin", "--role", "admin", "--password-stdin", "--data", str(data)],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_an_unwritable_database_or_data_directory_is_one_line_and_kept_as_it_is(
    tmp_path: Path,
) -> None:
    """Root ignores file modes: an immutable file and a read-only mount are what root cannot
    write. The database is an operator's mistake away from usable, not corrupt: never moved."""
    if os.geteuid() != 0:
        pytest.skip("needs root (chattr +i, mount)")
    cfg = _config(tmp_path)
    data = tmp_path / "data"
    _add_user(data)
    db = data / "augenmass.db"
    before = db.read_bytes()
    if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        _one_line(_run(cfg, data), db, "the database is not writable for user id 0")
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert db.read_bytes() == before
    assert not list(data.glob("*corrupt*"))

    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(ro)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        _add_user(ro)
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        problem = "the data directory is not writable (read-only file system)"
        _one_line(_run(cfg, ro), ro, problem)
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_a_service_user_that_may_not_read_the_files_gets_one_line(tmp_path: Path) -> None:
    """The common case: root created the database (`augenmass user add` run as root), the
    service runs as its own user. Run as nobody; config problems stay exit 2."""
    import shutil
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the command as another user")
    nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    probe = subprocess.run([*nobody, *CLI, "version"], capture_output=True, env=env, timeout=60)
    if probe.returncode != 0:
        pytest.skip("this checkout is not readable by nobody")
    # pytest's tmp_path lies under a 0700 directory of root's: nobody could not even reach it
    where = Path(tempfile.mkdtemp(prefix="augenmass-nobody-"))
    try:
        where.chmod(0o755)
        cfg = _config(where)
        cfg.chmod(0o644)
        data = where / "data"
        _add_user(data)  # as root: the database is root's, 0600
        os.chown(data, 65534, 65534)  # the directory is not the problem here
        listen = ["--listen", f"127.0.0.1:{free_port()}"]

        def run_as_nobody(config: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*nobody, *CLI, "run", "--config", str(config), "--data", str(data), *listen],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )

        db = data / "augenmass.db"
        problem = "the database is not readable and writable for user id 65534"
        _one_line(run_as_nobody(cfg), db, problem)
        assert not list(data.glob("*corrupt*"))  # not taken for a damaged file

        private = where / "private.yaml"
        private.write_text(cfg.read_text())
        private.chmod(0o600)
        out = run_as_nobody(private)
        assert out.returncode == 2, out
        assert out.stderr.splitlines() == [
            f"{private}: cannot read: Permission denied",
            "1 error: configuration refused",
        ]
    finally:
        shutil.rmtree(where)
