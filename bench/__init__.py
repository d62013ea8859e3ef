"""The relay's benchmark: `python -m bench` (or `python -m bench --smoke`) from the repository root."""
