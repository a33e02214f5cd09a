"""gen-workflows: multi-architecture container build workflows from one validated spec."""

# A literal, not importlib.metadata: the up-to-date fast path (generator/fast.py) reads it before
# anything else is imported, and pyproject.toml takes the package version from here.
__version__ = "0.1.0"
