"""Every file ``scene.xml`` and ``scene.usda`` name, committed beside them.

The committed folder is self-contained: ``scene.xml`` names its meshes by paths relative
to itself (``meshes/…`` for the scene's collision meshes, ``robot_assets/…`` for the
robot's, mirroring the robot source's asset tree), and exactly those files are committed
under those names, so plain MuJoCo opens the folder wherever it is downloaded to.
:func:`scene_files` picks those files (and finds any name that would break this) before
anything is written; ``scene.usda`` references only ``robot_assets/<robot>.usdc``, by a
relative path too.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from bp_sim.robots.base import ROBOT_ASSETS, RobotModel

ROBOT_LICENSE = f"{ROBOT_ASSETS}/LICENSE"
# MJCF attributes that name files, and the compiler's folders they are resolved against
_FILE_ATTRS = ("file", "fileright", "fileleft", "fileup", "filedown", "filefront", "fileback")
_DIR_ATTRS = ("meshdir", "texturedir", "assetdir")


def robot_usd_name(robot: RobotModel) -> str:
    """Where the robot's visual USD layer is committed (``robot_assets/<robot>.usdc``)."""
    return f"{ROBOT_ASSETS}/{robot.name}.usdc"


def robot_license(robot: RobotModel) -> dict[str, bytes]:
    """The robot source's licence text as :data:`ROBOT_LICENSE` (none when it ships none).

    Its files are copied into every scene, and the source's licence (robosuite: MIT) asks
    for its notice to travel with copies.
    """
    licence = robot.source.license_file
    return {ROBOT_LICENSE: licence.read_bytes()} if licence is not None else {}


def mjcf_file_refs(xml: str) -> list[str]:
    """Every file an MJCF names, as MuJoCo resolves it relative to the XML's folder."""
    root = ET.fromstring(xml)  # noqa: S314 - MJCF MuJoCo itself just wrote
    compiler = root.find("compiler")
    dirs = {a: (compiler.get(a, "") if compiler is not None else "") for a in _DIR_ATTRS}
    refs = []
    for element in root.iter():
        for attr in _FILE_ATTRS:
            value = element.get(attr)
            if not value:
                continue
            folder = dirs["meshdir" if element.tag in ("mesh", "skin", "hfield") else "texturedir"]
            folder = folder or dirs["assetdir"]
            refs.append(posixpath.join(folder, value) if folder else value)
    return refs


def outside_folder(ref: str) -> bool:
    """Whether a referenced path is absolute or leaves the folder it is relative to."""
    if not ref or ref.startswith(("/", "\\")) or "\\" in ref or ":" in ref:
        return True
    return posixpath.normpath(ref).startswith("../") or posixpath.normpath(ref) == ".."


def scene_files(xml: str, assets: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """The files ``xml`` names, by that name, from ``assets`` (the spec's in-memory files),
    and the problems: a name outside the folder, or one ``assets`` does not hold.

    The bytes are those the model assemble checked was compiled from, so the committed
    folder gives the very same model.
    """
    files: dict[str, bytes] = {}
    problems = []
    for ref in mjcf_file_refs(xml):
        name = posixpath.normpath(ref)
        if outside_folder(ref):
            problems.append(f"scene.xml names {ref!r}, which is outside its folder")
        elif ref not in assets and name not in assets:
            problems.append(f"scene.xml names {ref!r}, which the composed scene does not hold")
        else:
            files[name] = assets[ref] if ref in assets else assets[name]
    return dict(sorted(files.items())), problems
