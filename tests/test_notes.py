"""The presets of the original notes (config/notes/, issue 22): each loads over config.yaml, validates, and plans
cells (no training here; the README's notes table says what each reproduces and what was measured)."""

from __future__ import annotations

import pytest

from conftest import REPO
from weightspace.config import expand, load_config, validate

NOTES = sorted((REPO / "config" / "notes").glob("*.yaml"))


def test_every_original_note_has_a_preset():
    seeds = sorted(p.name[:3] for p in (REPO.parent / "shared" / "seeds").glob("0*.txt"))
    names = [p.name[:3] for p in NOTES]
    assert names == (seeds or ["000", "001", "002", "003", "004"]), names


@pytest.mark.parametrize("preset", NOTES, ids=[p.stem for p in NOTES])
def test_a_notes_preset_validates_and_plans_cells(preset):
    config = validate(load_config(REPO / "config.yaml", preset))
    cells = expand(config)
    assert cells and all(cells.values()), f"{preset.name} plans no cells"
    assert config["results_dir"] == f"results/notes/{preset.stem}"
    for name, exp_cells in cells.items():  # the note's setting beside the pipeline's default, in one experiment
        variants = {c["variant"]["name"] for c in exp_cells.values()}
        assert any(v.endswith("note") for v in variants) and any(not v.endswith("note") for v in variants), \
            (name, variants)
    assert preset.stem in (REPO / "README.md").read_text(), f"the README's notes table does not list {preset.name}"
