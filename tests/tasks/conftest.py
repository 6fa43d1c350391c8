"""Fixtures of the tasks tests: settings and a small kitchen table scene built in code."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco (the end-to-end chain)

from collections.abc import Callable
from typing import Any

import pytest
from bp_contracts.simready import SimObject
from bp_sdk.settings import load_settings
from bp_tasks.settings import TasksSettings
from bp_tasks.world import World, build_world

from tests.tasks._support import assembly, sim_object, simready, variant

TABLE_TOP = 0.75


def table_scene() -> list[SimObject]:
    """A table in front of the robot with a can, a block, a tray, a bowl and a cereal box."""
    return [
        sim_object("table", "table", (1.2, 0.8, 0.75), (0.0, 0.0, 0.375)),
        sim_object(
            "can",
            "can",
            (0.066, 0.066, 0.12),
            (0.10, -0.15, TABLE_TOP + 0.06),
            support="table",
            rgba=(0.8, 0.1, 0.1, 1.0),
        ),
        sim_object(
            "block",
            "toy_block",
            (0.05, 0.05, 0.05),
            (-0.15, -0.10, TABLE_TOP + 0.025),
            support="table",
            rgba=(0.1, 0.2, 0.8, 1.0),
        ),
        sim_object(
            "tray", "tray", (0.4, 0.3, 0.03), (0.30, 0.0, TABLE_TOP + 0.015), support="table"
        ),
        sim_object(
            "bowl",
            "bowl",
            (0.17, 0.17, 0.07),
            (-0.32, -0.12, TABLE_TOP + 0.035),
            support="table",
            graspable=False,
            rgba=(0.95, 0.95, 0.95, 1.0),
        ),
        sim_object(
            "cereal",
            "cereal_box",
            (0.19, 0.07, 0.28),
            (-0.05, 0.05, TABLE_TOP + 0.14),
            support="table",
            rgba=(0.85, 0.6, 0.2, 1.0),
        ),
    ]


@pytest.fixture
def settings() -> Callable[..., TasksSettings]:
    """Tasks settings from an environment mapping (defaults unless overridden)."""

    def make(**env: str) -> TasksSettings:
        base = {"STORAGE_URI": "file:///tmp/bp-tasks-unused", "SCENE_ID": "s1", "RUN_ID": "r1"}
        return load_settings(TasksSettings, {**base, **env})

    return make


@pytest.fixture
def make_world() -> Callable[..., World]:
    """A world from objects, an optional robot placement and optional variants."""

    def make(
        objects: list[SimObject] | None = None, variants: list[Any] | None = None, **robot: Any
    ) -> World:
        objs = table_scene() if objects is None else objects
        vs = variants if variants is not None else [variant("s1", 0)]
        return build_world("s1", simready("s1", objs), assembly("s1", **robot), vs, 0.333)

    return make
