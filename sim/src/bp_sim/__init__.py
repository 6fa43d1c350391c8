"""BlueprintPipeline's simulation library, shared by assemble, variations and episodes.

Modules (importing this package imports nothing heavy; MuJoCo loads with the modules
that need it, so set ``MUJOCO_GL`` first when rendering):

* :mod:`bp_sim.robots` — the robot registry (``get_robot``), one module per robot;
* :mod:`bp_sim.compose` — ``compose_scene``: simready manifest (+ variant) → ``MjSpec``;
* :mod:`bp_sim.scene_defaults` — robot placement, default cameras and lights;
* :mod:`bp_sim.stability` — ``settle``: the stability check and its report;
* :mod:`bp_sim.render` — offscreen images, contact sheets, PNG bytes;
* :mod:`bp_sim.loader` — load a written ``scene.xml`` with the robot's meshes;
* :mod:`bp_sim.placement` — 2D free-spot search on support surfaces (variations, tasks);
* :mod:`bp_sim.footprints` — the objects' footprints and support surfaces it searches on.
"""
