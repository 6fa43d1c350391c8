"""The contracts between stages: one module per document, with its file name, its typed
model and its rules, plus the geometry every stage shares.

* :mod:`bp_contracts.scene_manifest` — ``scene_manifest.json`` (ingest);
* :mod:`bp_contracts.catalog` — the category and material catalogs (packaged data);
* :mod:`bp_contracts.simready` — ``simready_manifest.json`` (simready);
* :mod:`bp_contracts.assembly` — ``assembly.json``, ``stability.json`` (assemble);
* :mod:`bp_contracts.variation` — ``variations/<id>.json``, ``variations/index.json``;
* :mod:`bp_contracts.tasks` — ``tasks.json``, the success predicates and their evaluation;
* :mod:`bp_contracts.episode` — ``episodes/<id>.json`` (the episode record) and its arrays;
* :mod:`bp_contracts.dataset_id` — the dataset id rule;
* :mod:`bp_contracts.stages` — the stage order and what each stage commits as;
* :mod:`bp_contracts.geometry` — quaternions, rotations, boxes, output rounding.

It depends on ``bp_sdk`` (ids, errors) and pydantic only — numpy appears in type hints,
never imported, so the ingest image stays without it — never on ``bp_sim``, a job or the
CLI, which may all import it.
"""
