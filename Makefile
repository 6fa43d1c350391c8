.PHONY: demo test bench env-example

demo:  ## set up and run the pipeline on the embedded default
	bash scripts/demo.sh

test:  ## set up and run lint, types and the test suite
	bash scripts/test.sh

bench:  ## benchmarks (print ratios against baselines measured in the same run)
	uv run --frozen python bench/ingest_bench.py

env-example:  ## regenerate .env.example from the settings classes
	uv run --frozen python scripts/gen_env_example.py
