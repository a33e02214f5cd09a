"""gen-workflows: multi-architecture container build workflows from one validated spec."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gen-workflows")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
