"""The failure catalogue: buckets, subcategories and security categories, loaded from catalogue.json.

catalogue.json is the one place a subcategory is defined (adding one means adding one entry there; a
detector module for it is found by the registry). This module only loads and indexes it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import msgspec

from taxonomy.model import Bucket, SecurityCategory, Subcategory

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")


class _RawSubcategory(msgspec.Struct, kw_only=True):
    id: str
    name: str
    definition: str
    applies_to: tuple[str, ...]
    required_inputs: tuple[str, ...]
    default_impact: int
    default_risk: str
    detection: str
    related_eval_metrics: tuple[str, ...] = ()
    related_security_categories: tuple[str, ...] = ()
    benchmarks: tuple[str, ...] = ()
    source_categories: tuple[str, ...] = ()


class _RawBucket(msgspec.Struct, kw_only=True):
    id: str
    name: str
    description: str
    subcategories: tuple[_RawSubcategory, ...]


class _RawCatalogue(msgspec.Struct, kw_only=True):
    name: str
    version: str
    security_categories: tuple[SecurityCategory, ...]
    buckets: tuple[_RawBucket, ...]


class Catalogue(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """The loaded taxonomy with lookups by id (dict=True lets the lookups be cached properties)."""

    name: str
    version: str
    buckets: tuple[Bucket, ...]
    security_categories: tuple[SecurityCategory, ...]

    @functools.cached_property
    def subcategories(self) -> dict[str, Subcategory]:
        """Every subcategory by bare id, in catalogue order."""
        return {sub.id: sub for bucket in self.buckets for sub in bucket.subcategories}

    @functools.cached_property
    def bucket_by_id(self) -> dict[str, Bucket]:
        return {bucket.id: bucket for bucket in self.buckets}

    def resolve_filter(self, buckets: list[str] | None, subcategories: list[str] | None) -> set[str] | None:
        """Subcategory ids selected by bucket and subcategory filters (their union); None = all.

        Raises:
            KeyError: naming the first unknown bucket or subcategory id.
        """
        if not buckets and not subcategories:
            return None
        selected: set[str] = set()
        for bucket_id in buckets or ():
            bucket = self.bucket_by_id.get(bucket_id)
            if bucket is None:
                raise KeyError(f"bucket {bucket_id!r}")
            selected.update(sub.id for sub in bucket.subcategories)
        for sub_id in subcategories or ():
            bare = sub_id.rsplit(".", 1)[-1]  # accept "bucket.subcategory" as well as the bare id
            if bare not in self.subcategories:
                raise KeyError(f"subcategory {sub_id!r}")
            selected.add(bare)
        return selected


@functools.cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Load and validate catalogue.json once per process."""
    raw = msgspec.json.decode(path.read_bytes(), type=_RawCatalogue)
    buckets = tuple(
        Bucket(
            id=b.id,
            name=b.name,
            description=b.description,
            subcategories=tuple(
                msgspec.convert(
                    {**msgspec.structs.asdict(s), "bucket_id": b.id, "bucket_name": b.name},
                    Subcategory,
                    from_attributes=False,
                )
                for s in b.subcategories
            ),
        )
        for b in raw.buckets
    )
    return Catalogue(name=raw.name, version=raw.version, buckets=buckets, security_categories=raw.security_categories)
