"""The presets of the original notes (config/notes/, issue 22): each loads over config.yaml, validates, and plans
cells (no training here; the README's notes table says what each reproduces and what was measured)."""

from __future__ import annotations

import pytest

from conftest import REPO
from weightspace.config import expand, load_config, validate

import yaml

_FILES = sorted((REPO / "config" / "notes").glob("*.yaml"))
#: a note's preset names its results folder; an overlay (e.g. 001-feedback-mnist.yaml: a preset without its
#: CIFAR-10 half) only changes its note's preset and is loaded after it
NOTES = [p for p in _FILES if "results_dir" in (yaml.safe_load(p.read_text()) or {})]
OVERLAYS = [p for p in _FILES if p not in NOTES]


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


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.stem for p in OVERLAYS])
def test_an_overlay_loads_over_its_notes_preset_and_plans_fewer_cells(overlay):
    """An overlay of a note's preset (same number) validates over it, keeps its results folder, plans a part of
    its cells, and the README names it."""
    (base,) = [p for p in NOTES if p.name[:3] == overlay.name[:3]]
    whole = expand(validate(load_config(REPO / "config.yaml", base)))
    config = validate(load_config(REPO / "config.yaml", base, overlay))
    part = expand(config)
    assert config["results_dir"] == f"results/notes/{base.stem}"
    cells = {c for exp in part.values() for c in exp}
    assert cells and cells < {c for exp in whole.values() for c in exp}
    assert overlay.name in (REPO / "README.md").read_text(), f"the README does not name {overlay.name}"


def test_the_001_overlay_leaves_out_cifar10_alone():
    overlay = REPO / "config" / "notes" / "001-feedback-mnist.yaml"
    config = validate(load_config(REPO / "config.yaml", REPO / "config" / "notes" / "001-feedback.yaml", overlay))
    assert set(expand(config)) == {"feedback-note"}
