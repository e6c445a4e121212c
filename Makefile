.PHONY: test venv bench

venv:
	bash scripts/bootstrap.sh

test: venv
	.venv/bin/python -m pytest -q

bench: venv
	.venv/bin/python bench/quality.py
	.venv/bin/python bench/scifact.py
