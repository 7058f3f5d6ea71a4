"""The experiment families, one folder each: importing this package registers every one of them.

This is the one place that loads the families into :mod:`weightspace.registry`, whose tables the core looks
names up in. The entry points import it (the CLI, ``workflow/rules/common.smk``, the tests' ``conftest.py``).

Adding a family: a folder ``families/<name>/`` whose ``__init__.py`` defines ``FAMILY`` (a
:class:`~weightspace.families.base.Family`), an ``artifacts.py`` listing its figures and tables, and its
import and line below. See the README, "Adding an experiment family".
"""

from __future__ import annotations

from weightspace import registry
from weightspace.families import feedback, sharing, subspace, tying

__all__ = ["feedback", "sharing", "subspace", "tying"]

# every family, in the order the registry lists them: a new family adds its line here (and its import above)
for _family in (
    subspace.FAMILY,
    sharing.FAMILY,
    tying.FAMILY,
    feedback.FAMILY,
):
    registry.register(_family)
