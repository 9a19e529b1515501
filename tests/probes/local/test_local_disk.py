"""`disk`: the mount table, selection, thresholds, and the same state as check_disk."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_probe_helpers import job, need

from augenmass.config.checks import check_model
from augenmass.probes.local import DiskProbe
from augenmass.probes.mounts import Mount, Selection, parse_mountinfo
from augenmass.runner import Runner

CHECK_DISK = "/usr/lib/nagios/plugins/check_disk"
HAVE_CHECK_DISK = os.path.exists(CHECK_DISK)
MIB = 1024 * 1024

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:5 / /proc rw - proc proc rw
24 22 0:20 / /run rw shared:5 - tmpfs tmpfs rw,size=100k
25 22 8:2 / /srv/my\\040data rw - xfs /dev/sdb1 rw
26 22 0:44 / /srv/backup rw - nfs4 nas:/backup rw
27 22 7:0 / /snap/core/1 ro - squashfs /dev/loop0 ro
28 22 8:3 / /srv/backup rw - ext4 /dev/sdc1 rw
garbage line without a separator
"""


def paths(selection: Selection) -> list[str]:
    return [m.path for m in selection.pick(parse_mountinfo(MOUNTINFO))]


def test_mountinfo_unescapes_and_skips_garbage() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert mounts[3] == Mount("/srv/my data", "xfs", "/dev/sdb1")
    assert len(mounts) == 7


def test_pseudo_file_systems_are_skipped_by_default() -> None:
    # the later mount over /srv/backup hides the NFS one, as in the kernel
    assert paths(Selection()) == ["/", "/srv/my data", "/srv/backup"]
    assert "/proc" in paths(Selection(include_pseudo=True))


def test_include_and_exclude_patterns() -> None:
    assert paths(Selection(mounts=("/srv/*",))) == ["/srv/my data", "/srv/backup"]
    assert paths(Selection(exclude_mounts=("/srv/*",))) == ["/"]
    assert paths(Selection(fstypes=("xfs", "ext*"))) == ["/", "/srv/my data", "/srv/backup"]
    assert paths(Selection(exclude_fstypes=("ext4",))) == ["/srv/my data"]
    # naming a pseudo type takes it in without include_pseudo
    assert paths(Selection(fstypes=("tmpfs",))) == ["/run"]


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs with 100 inodes, half full: a file system whose figures we control."""
    need(os.geteuid() == 0, "mounting a tmpfs needs root")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=100", "tmpfs", str(mnt)],
        capture_output=True,
        timeout=20,
    )
    need(done.returncode == 0, f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        (mnt / "half").write_bytes(b"\0" * (8 * MIB))
        for i in range(39):  # 40 files plus the root directory: 41 inodes of 100
            (mnt / f"f{i}").touch()
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=20)


async def test_figures_of_a_known_file_system(tmpfs: Path) -> None:
    got = await DiskProbe().run({"mounts": [str(tmpfs)], "fstypes": ["tmpfs"]}, 5.0)
    assert got.status == 0
    assert got.output == f"DISK OK - 1 file system, fullest {tmpfs} 50.0% used (8.0 MiB free)"
    perf = {p.label: p for p in got.perfdata}
    used, free, inodes = perf[f"{tmpfs} used"], perf[f"{tmpfs} free"], perf[f"{tmpfs} inodes"]
    assert (used.value, used.uom, used.warn, used.crit) == (50.0, "%", "90", "95")
    assert (free.value, free.uom, free.max) == (8 * MIB, "B", 16 * MIB)
    assert (inodes.value, inodes.uom) == (41.0, "%")
    assert f"{tmpfs} (tmpfs): 50.0% used, 8.0 MiB free of 16.0 MiB, inodes 41.0% used" in (
        got.long_output
    )


@pytest.mark.parametrize(
    ("options", "state"),
    [
        ({"used_warning": "40"}, 1),
        ({"used_warning": "40", "used_critical": "49.5"}, 2),
        ({"used_warning": None, "used_critical": None}, 0),
        ({"free_warning": "10:"}, 1),  # MiB: 8 MiB free is below 10
        ({"free_critical": "9:"}, 2),
        ({"free_warning": "4:"}, 0),
        ({"inodes_warning": "40"}, 1),
        ({"inodes_critical": "40"}, 2),
        ({"inodes_warning": "50"}, 0),
    ],
)
async def test_thresholds(tmpfs: Path, options: dict[str, object], state: int) -> None:
    got = await DiskProbe().run({"mounts": [str(tmpfs)], "fstypes": ["tmpfs"], **options}, 5.0)
    assert got.status == state, got.output
    assert got.output.startswith(("DISK OK", "DISK WARNING", "DISK CRITICAL")[state])


async def test_free_thresholds_go_into_perfdata_in_bytes(tmpfs: Path) -> None:
    got = await DiskProbe().run(
        {"mounts": [str(tmpfs)], "fstypes": ["tmpfs"], "free_warning": "10:"}, 5.0
    )
    free = next(p for p in got.perfdata if p.label.endswith(" free"))
    assert free.warn == str(10 * MIB) + ":"


def check_disk(path: str, warn_free: int, crit_free: int, extra: tuple[str, ...] = ()) -> int:
    done = subprocess.run(
        [CHECK_DISK, "-w", f"{warn_free}%", "-c", f"{crit_free}%", *extra, "-p", path],
        capture_output=True,
        timeout=20,
    )
    return done.returncode


@pytest.mark.parametrize(("warn_free", "crit_free"), [(60, 55), (45, 30), (70, 20), (10, 5)])
async def test_same_state_as_check_disk(tmpfs: Path, warn_free: int, crit_free: int) -> None:
    need(HAVE_CHECK_DISK, "monitoring-plugins (check_disk) not installed")
    # check_disk -w 60% alerts when at most 60 % is free: our used_warning "40" (above 40 % used)
    ours = await DiskProbe().run(
        {
            "mounts": [str(tmpfs)],
            "fstypes": ["tmpfs"],
            "used_warning": str(100 - warn_free),
            "used_critical": str(100 - crit_free),
        },
        5.0,
    )
    assert ours.status == check_disk(str(tmpfs), warn_free, crit_free), ours.output


async def test_same_state_as_check_disk_on_the_root_file_system() -> None:
    need(HAVE_CHECK_DISK, "monitoring-plugins (check_disk) not installed")
    root = os.statvfs("/")
    used = 100 * (root.f_blocks - root.f_bfree) / (root.f_blocks - root.f_bfree + root.f_bavail)
    # thresholds well away from the current figure: other tests may write meanwhile
    for free_w, free_c in ((int(100 - used) + 5, 0), (int(100 - used) - 5, 0), (99, 98)):
        free_c = max(0, min(free_c, free_w - 1))
        before = check_disk("/", free_w, free_c)
        ours = await DiskProbe().run(
            {
                "mounts": ["/"],
                "used_warning": str(100 - free_w),
                "used_critical": str(100 - free_c),
            },
            5.0,
        )
        if before == check_disk("/", free_w, free_c):  # the plugin agreed with itself
            assert ours.status == before, (free_w, free_c, ours.output)


async def test_nothing_selected_is_unknown() -> None:
    got = await DiskProbe().run({"mounts": ["/no/such/mount/*"]}, 5.0)
    assert (got.status, got.output) == (3, "DISK UNKNOWN - no file system matches the selection")


async def test_problem_file_systems_lead_the_status_line(tmpfs: Path) -> None:
    root = os.statvfs("/")
    if (root.f_blocks - root.f_bfree) / (root.f_blocks - root.f_bfree + root.f_bavail) > 0.4:
        pytest.skip("the root file system is too full for this comparison")
    got = await DiskProbe().run(
        {"mounts": ["/", str(tmpfs)], "include_pseudo": True, "used_warning": "45"}, 5.0
    )
    assert got.status == 1
    assert got.output == f"DISK WARNING - {tmpfs} 50.0% used (8.0 MiB free)"
    lines = got.long_output.splitlines()
    assert lines[0].startswith("OK: / (") and lines[1].startswith(f"WARNING: {tmpfs} (tmpfs)")


async def test_options_model_validates_ranges_at_load_time() -> None:
    model = check_model("disk")
    assert not isinstance(model, str)
    with pytest.raises(ValueError, match="Range format incorrect"):
        model.model_validate({"free_warning": "ten:"})
    with pytest.raises(ValueError, match="extra"):
        model.model_validate({"mountpoints": ["/"]})
    ok = model.model_validate({"mounts": ["/"], "inodes_critical": 95})
    assert ok.model_dump()["inodes_critical"] == "95"


async def test_through_the_runner(runner: Runner) -> None:
    result = await runner.run(job("disk", {"mounts": ["/"], "used_warning": "100"}))
    assert result.status == 0, result.output
    assert result.output.startswith("DISK OK - 1 file system, fullest / ")
    assert [p.label for p in result.perfdata][:2] == ["/ used", "/ free"]


async def test_bad_option_through_the_runner_is_unknown(runner: Runner) -> None:
    result = await runner.run(job("disk", {"used_warning": "x:y"}))
    assert result.status == 3
    assert result.output.startswith("bad check options: disk: used_warning: Range format")
