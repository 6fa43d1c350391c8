"""Keep only the robot asset files the robot registry reads; runs in the image's build stage.

The robosuite wheel is a 527 MB asset library of which the registered robots use ~40 MB.
For every robot in :data:`bp_sim.robots.REGISTRY` this builds the robot once (which reads
its model files and every mesh they name), keeps those files, and deletes every other file
under the robot's asset root when that root lies inside PREFIX (the image's install tree).
``--check`` (a fresh process, so nothing comes from a cache) builds and compiles every robot
from what is left: a robot that no longer loads fails the image build, not a job at run
time. Both do nothing in images without ``bp_sim``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

USAGE = "usage: prune_robot_assets.py PREFIX | --check"


def _robot_files() -> dict[Path, set[str]]:
    """Asset root → files (relative) the registered robots read from it."""
    from bp_sim.robots import get_robot, robot_names  # noqa: PLC0415
    from bp_sim.robots.base import ROBOT_ASSETS  # noqa: PLC0415

    keep: dict[Path, set[str]] = {}
    for name in robot_names():
        robot = get_robot(name)
        files = keep.setdefault(robot.source.root.resolve(), set())
        files.update(robot.source.files)
        for key in robot.build().assets:
            files.add(key.removeprefix(f"{ROBOT_ASSETS}/"))
    return keep


def _check_robots_compile() -> None:
    from bp_sim.robots import get_robot, robot_names  # noqa: PLC0415

    for name in robot_names():
        built = get_robot(name).build()
        built.spec.assets.update(built.assets)
        built.spec.compile()


def main(argv: list[str]) -> int:
    """Prune under PREFIX, or (``--check``) prove every robot still compiles."""
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)  # noqa: T201 - build log
        return 2
    if importlib.util.find_spec("bp_sim") is None:
        return 0
    if argv == ["--check"]:
        _check_robots_compile()
        return 0
    prefix = Path(argv[0]).resolve()
    removed = kept = freed = 0
    for root, files in _robot_files().items():
        if not root.is_relative_to(prefix):
            continue  # a local asset folder (e.g. MENAGERIE_ROOT) is never touched
        for path in sorted(root.rglob("*"), reverse=True):
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.relative_to(root).as_posix() in files:
                kept += 1
            else:
                freed += path.lstat().st_size
                path.unlink()
                removed += 1
    print(  # noqa: T201 - build log
        f"prune_robot_assets: kept {kept} files, removed {removed} ({freed / 2**20:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
