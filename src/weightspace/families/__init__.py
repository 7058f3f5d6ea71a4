"""The experiment families, one folder each, and the registry the core loops over.

Adding a family: a folder ``families/<name>/`` whose ``__init__.py`` defines
``FAMILY`` (a :class:`~weightspace.families.base.Family`) and whose ``artifacts.py``
lists its figures and tables, and one entry in :data:`FAMILIES` below. See
the README, "Adding an experiment family".
"""

from __future__ import annotations

from weightspace.families.base import DIRECT, ArchSpec, Family, ReparamSpec
from weightspace.families import sharing  # noqa: E402  (each folder's FAMILY)
from weightspace.families import subspace  # noqa: E402
from weightspace.families import tying  # noqa: E402
from weightspace.families import feedback  # noqa: E402

__all__ = ["FAMILIES", "REPARAMS", "ARCHITECTURES", "Family", "ReparamSpec", "ArchSpec", "family_of"]

#: every family, by name: a new family adds its line here (and its import above)
FAMILIES: dict[str, Family] = {f.name: f for f in (
    subspace.FAMILY,
    sharing.FAMILY,
    tying.FAMILY,
    feedback.FAMILY,
)}

#: every reparameterization, by name: direct (the core's) and each family's
REPARAMS: dict[str, ReparamSpec] = {DIRECT.name: DIRECT}
for _family in FAMILIES.values():
    for _spec in _family.reparams:
        if _spec.name in REPARAMS:
            raise RuntimeError(f"reparameterization {_spec.name!r} of family {_family.name!r} is registered twice")
        REPARAMS[_spec.name] = _spec


def family_of(reparam: str) -> str | None:
    """The family a reparameterization belongs to (None for the core's ``direct``)."""
    return next((f.name for f in FAMILIES.values() if any(r.name == reparam for r in f.reparams)), None)


#: the net architectures families add, by name (the core's own: weightspace.netspec.ARCHS)
ARCHITECTURES: dict[str, ArchSpec] = {a.name: a for f in FAMILIES.values() for a in f.archs}
