"""The package as a user gets it: `python -m build` makes a wheel and an sdist with the templates,
static files, migrations and notification templates in them; both install into a clean venv
beside the locked runtime dependencies and run (version, check-config, a server that answers
/api/health)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from augenmass import __version__

from .helpers import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # a cold pip cache downloads the lock

ROOT = Path(__file__).resolve().parents[2]
RUN_LOCK = ROOT / "requirements" / "run.lock"
# One file of each kind the package needs at run time besides its modules.
PACKAGE_DATA = (
    "augenmass/py.typed",
    "augenmass/web/templates/base.html",
    "augenmass/web/static/app.css",
    "augenmass/web/static/vendor/htmx/htmx.min.js",
    "augenmass/web/static/vendor/uplot/uPlot.min.css",
    "augenmass/migrations/script.py.mako",
    "augenmass/migrations/versions/0001_initial.py",
    "augenmass/notify/templates/en/subject.j2",
    "augenmass/notify/templates/de/body.html.j2",
)
# pip's and build's words for "the package index cannot be reached"
OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Could not find a version that satisfies",
    "No matching distribution found",
    "ConnectTimeoutError",
    "ProxyError",
)


def _env() -> dict[str, str]:
    # the suite runs with PYTHONPATH=src: the installed copy must be the one that runs
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(*cmd: str | Path, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def _offline(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and any(w in result.stdout + result.stderr for w in OFFLINE)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the sdist is made from, so builds leave nothing in the working tree."""
    tree = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    return tree


@pytest.fixture(scope="module")
def dists(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    _ok(_run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=source))
    return {"wheel": _one(out, "*.whl"), "sdist": _one(out, "*.tar.gz")}


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv holding exactly the locked runtime dependencies (not the package)."""
    path = tmp_path_factory.mktemp("venv")
    _ok(_run(sys.executable, "-m", "venv", path, cwd=path))
    # The dependencies are not what is tested here (the package is, installed with the venv's
    # pip below): the test venv's uv installs the same hashed lock in seconds where pip took a
    # minute. Byte-compiled as pip does, so the servers below do not compile them at each start.
    uv = Path(sys.executable).parent / "uv"
    result = (
        _run(
            uv,
            "pip",
            "install",
            "-q",
            "--compile-bytecode",
            "--python",
            path / "bin" / "python",
            "--require-hashes",
            "-r",
            RUN_LOCK,
            cwd=path,
        )
        if uv.exists()
        else None
    )
    if result is None or result.returncode != 0:  # no uv, or it failed: pip says why
        result = _run(
            path / "bin" / "pip", "install", "-q", "--require-hashes", "-r", RUN_LOCK, cwd=path
        )
    if _offline(result):
        pytest.skip(f"the locked dependencies cannot be fetched: {result.stderr[-300:]}")
    _ok(result)
    return path


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_and_sdist_carry_the_version_and_the_package_data(dists: dict[str, Path]) -> None:
    assert dists["wheel"].name == f"augenmass-{__version__}-py3-none-any.whl"
    assert dists["sdist"].name == f"augenmass-{__version__}.tar.gz"
    assert set(PACKAGE_DATA) <= _names(dists["wheel"])
    with tarfile.open(dists["sdist"]) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {f"src/{name}" for name in PACKAGE_DATA} <= members


def _serves(venv: Path, data: Path) -> None:
    """`augenmass run` on the example config answers /api/health, then stops on SIGTERM."""
    port = free_port()
    log = data / "server.log"
    data.mkdir(parents=True, exist_ok=True)
    argv = [str(venv / "bin" / "augenmass"), "run", "--config", str(ROOT / "examples" / "config")]
    argv += ["--data", str(data), "--listen", f"127.0.0.1:{port}"]
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            argv, cwd=data, env=_env(), stdout=logf, stderr=logf, start_new_session=True
        )
        try:

            def health() -> bytes:
                assert proc.poll() is None, log.read_text()
                url = f"http://127.0.0.1:{port}/api/health"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    return bytes(resp.read())

            assert b"status" in wait_for(health, 60, "the installed server's /api/health")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    assert proc.returncode == 0, log.read_text()


def _runs(venv: Path, work: Path) -> None:
    installed = _ok(
        _run(venv / "bin" / "python", "-c", "import augenmass; print(augenmass.__file__)", cwd=work)
    )
    assert Path(installed.strip()).is_relative_to(venv), installed
    assert (
        _ok(_run(venv / "bin" / "augenmass", "version", cwd=work)) == f"augenmass {__version__}\n"
    )
    config = ROOT / "examples" / "config"
    assert _ok(_run(venv / "bin" / "augenmass", "check-config", config, cwd=work)).startswith(
        "OK: "
    )
    _serves(venv, work / "data")


def test_the_wheel_installs_into_a_clean_venv_and_runs(
    dists: dict[str, Path], venv: Path, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    pip = venv / "bin" / "pip"
    started = time.perf_counter()
    _ok(_run(pip, "install", "-q", "--no-deps", "--force-reinstall", dists["wheel"], cwd=tmp_path))
    seconds = time.perf_counter() - started
    record_property("wheel_install_seconds", round(seconds, 2))
    print(f"wheel install into the clean venv: {seconds:.2f} s")
    _runs(venv, tmp_path)


def test_the_sdist_builds_the_same_wheel_which_installs_and_runs(
    dists: dict[str, Path], venv: Path, tmp_path: Path
) -> None:
    # the venv's setuptools and wheel come from run.lock, the versions the package is built with
    out = tmp_path / "wheel"
    pip = venv / "bin" / "pip"
    _ok(
        _run(
            pip,
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            out,
            dists["sdist"],
            cwd=tmp_path,
        )
    )
    wheel = _one(out, "*.whl")
    assert _names(wheel) == _names(dists["wheel"])
    _ok(_run(pip, "install", "-q", "--no-deps", "--force-reinstall", wheel, cwd=tmp_path))
    _runs(venv, tmp_path)


def test_an_isolated_build_fetches_its_backend_and_builds_both(
    source: Path, tmp_path: Path
) -> None:
    result = _run(sys.executable, "-m", "build", "--outdir", tmp_path, source, cwd=source)
    if _offline(result):
        pytest.skip(f"the isolated build cannot fetch setuptools: {result.stderr[-300:]}")
    _ok(result)
    assert set(PACKAGE_DATA) <= _names(_one(tmp_path, "*.whl"))
    assert _one(tmp_path, "*.tar.gz").name == f"augenmass-{__version__}.tar.gz"
