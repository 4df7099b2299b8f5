"""auditkit's version, from the installed distribution's metadata.

A module of its own, so the runner stamps scorecards without importing the
package's ``__init__`` (which imports the runner: a circle).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("auditkit")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
