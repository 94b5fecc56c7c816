"""Detector registry: the `@detector` decorator and `discover()`, which finds every detector module.

A detector is a plain, pure function `detect(item) -> Finding` living in
taxonomy/detectors/<bucket_id>/<subcategory_id>.py, or in a plugin module named by DETECTOR_PLUGINS.
Nothing registers at import of this module; `discover()` imports the detector package (and plugins)
explicitly and returns the registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

import msgspec

from taxonomy.model import Finding, InputName, Item

DetectFn = Callable[[Item], Finding]
DETECTORS_PACKAGE = "taxonomy.detectors"


class Detector(msgspec.Struct, frozen=True, kw_only=True):
    """A registered deterministic detector for one subcategory."""

    subcategory_id: str
    needs: tuple[InputName, ...]  # inputs that must be present for the detector to run at all
    detect: DetectFn
    module: str


class DuplicateDetectorError(RuntimeError):
    """Two modules registered a detector for the same subcategory."""


_REGISTRY: dict[str, Detector] = {}


def detector(subcategory_id: str, *, needs: tuple[InputName, ...]) -> Callable[[DetectFn], DetectFn]:
    """Register `fn` as the deterministic detector of `subcategory_id`.

    Args:
        subcategory_id: bare id from catalogue.json, e.g. "unsupported_claim".
        needs: inputs the item must carry for this detector to apply (e.g. ("output", "context")).
    """

    def register(fn: DetectFn) -> DetectFn:
        existing = _REGISTRY.get(subcategory_id)
        if existing is not None and existing.module != fn.__module__:
            raise DuplicateDetectorError(f"{subcategory_id} registered by {existing.module} and {fn.__module__}")
        _REGISTRY[subcategory_id] = Detector(
            subcategory_id=subcategory_id, needs=needs, detect=fn, module=fn.__module__
        )
        return fn

    return register


def discover(plugins: tuple[str, ...] = ()) -> dict[str, Detector]:
    """Import every module under taxonomy/detectors, then the `plugins` modules, and return the registry.

    Idempotent. A plugin module registers detectors with `@detector` like a built-in one; registering a
    subcategory that already has a detector is an error (DuplicateDetectorError), not an override.
    """
    package = importlib.import_module(DETECTORS_PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{DETECTORS_PACKAGE}."):
        importlib.import_module(info.name)
    for module in plugins:
        importlib.import_module(module)
    return dict(_REGISTRY)
