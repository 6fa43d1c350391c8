"""HDF5 objects without timestamps, so the same data gives the same file, byte for byte.

HDF5 stores access/modification/change/birth times in each object's header unless the
object's creation property list says not to (``H5Pset_obj_track_times``); h5py's high-level
calls set that only for datasets (``track_times``). These helpers create the file (its
root group), groups, datasets and virtual datasets with time tracking off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py


def create_file(path: Path) -> h5py.File:
    """A new file (truncating), HDF5 1.10+ format, root group without times."""
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    return h5py.File(fid)


def create_group(parent: h5py.Group, name: str) -> h5py.Group:
    """A child group without times."""
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    group: h5py.Group = parent[name]
    return group


def create_dataset(parent: h5py.Group, name: str, **kwargs: Any) -> h5py.Dataset:
    """A dataset without times (h5py's own option)."""
    return parent.create_dataset(name, track_times=False, **kwargs)


def create_virtual(parent: h5py.Group, name: str, layout: h5py.VirtualLayout) -> h5py.Dataset:
    """A virtual dataset without times (its sources in this file, named ``.``)."""
    layout.dcpl.set_obj_track_times(False)
    return parent.create_virtual_dataset(name, layout)
