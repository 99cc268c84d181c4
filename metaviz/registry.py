"""Discover plugins: one class per module of a package.

Adding ``metaviz/learners/new_thing.py`` (or ``metaviz/tasks/new_family.py``) is
the whole change: :class:`Registry` imports every module of the package and
collects the concrete subclasses of the base class that each module defines.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from types import ModuleType

SKIP = {"base"}


def plugin_modules(package_name: str) -> list[ModuleType]:
    """Every plugin module of the package (all but ``base`` and private ones), imported."""
    package = importlib.import_module(package_name)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    return [importlib.import_module(f"{package_name}.{n}") for n in names
            if n not in SKIP and not n.startswith("_")]


def classes_in(module: ModuleType, base: type) -> list[type]:
    """Concrete subclasses of ``base`` defined (not merely imported) in ``module``."""
    return [obj for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
            and obj.__module__ == module.__name__ and not inspect.isabstract(obj)
            and getattr(obj, "name", None)]


class Registry:
    """Name -> class for the plugins of one package; names must be unique."""

    def __init__(self, package_name: str, base: type, what: str):
        self.package_name, self.base, self.what = package_name, base, what

    @functools.cached_property
    def classes(self) -> dict[str, type]:
        found: dict[str, type] = {}
        for module in plugin_modules(self.package_name):
            for cls in classes_in(module, self.base):
                if cls.name in found:
                    raise RuntimeError(f"two {self.what}s named {cls.name!r}: {found[cls.name]} and {cls}")
                found[cls.name] = cls
        return found

    def names(self) -> list[str]:
        return list(self.classes)

    def get(self, name: str) -> type:
        try:
            return self.classes[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r}; available: {self.names()}") from None
