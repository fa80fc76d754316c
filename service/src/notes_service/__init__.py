"""notes-service: the reference web service built and deployed by slipway."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("notes-service")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
