"""Optional dependencies (pip extras): import them on first use, with an error that says what to
install when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require_extra(module: str, extra: str, needed_by: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``plasticgym[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"{needed_by} needs the optional dependency {module.split('.')[0]!r}, which is not "
            f"installed ({error}); install it with: pip install 'plasticgym[{extra}]'"
        ) from error
