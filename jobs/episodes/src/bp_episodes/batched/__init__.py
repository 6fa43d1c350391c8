"""The batched episode runner: N worlds of one :class:`~bp_episodes.backend.SimBatch`
stepped together, the scripted expert evaluated as array code over the worlds.

* :mod:`.runner`: a work queue; each world takes the next work item when its episode ends
  (per-world reset), records into the same per-episode arrays and metrics as
  :func:`bp_episodes.episode.run_episode`;
* :mod:`.follower` (the phase machine), :mod:`.ik`, :mod:`.kinematics` and
  :mod:`.arrays`: waypoints, damped-least-squares IK, the arm's forward kinematics and
  rotations over all worlds at once (numpy, or any array module with its API);
* :mod:`.planning`: each task's plan at reset, the kinematic and collision checks of the
  candidate plans batched across the worlds that reset together;
* :mod:`.measure` and :mod:`.recording`: metrics and streams as arrays over worlds;
* :mod:`.worlds`: per-world resets and contact arrays of a ``SimBatch``, one-world views;
* :mod:`.experts`: the task kinds covered, a registry that lists them.
"""
