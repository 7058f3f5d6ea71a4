"""Figures and tables as data: each family lists its artifacts once, and the workflow's outputs, the job count,
the report's captions and the CLI are derived from that list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from weightspace import artifacts
from weightspace.artifacts import Artifact, of_family
from weightspace.config import expand, load_config, validate
from weightspace.registry import FAMILIES


def _quick():
    config = validate(load_config(REPO / "config.yaml", REPO / "config" / "quick.yaml"))
    return config, expand(config)


def test_every_artifact_has_its_caption_and_every_caption_an_artifact():
    used = {a.caption for f in FAMILIES.values() for a in of_family(f)}
    on_disk = {p.name for p in (REPO / "workflow" / "report").glob("*.rst")}
    assert used <= on_disk, f"captions missing in workflow/report/: {sorted(used - on_disk)}"
    assert on_disk <= used, f"captions no artifact names: {sorted(on_disk - used)}"


def test_the_artifact_lists_import_no_torch_matplotlib_or_pandas():
    """The workflow parses them for every run: importing every family's list stays light."""
    code = ("import sys; import weightspace.artifacts, weightspace.families; from weightspace.registry import FAMILIES; "
            "[f.artifacts() for f in FAMILIES.values()]; "
            "print(' '.join(m for m in ('torch', 'matplotlib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_new_artifact_is_one_entry_and_the_workflow_asks_for_it(monkeypatch):
    """An entry added to a family's list is a target of rule all (PDF and PNG, per dataset x net), counted by no
    extra job (the experiment's render job makes it), and `make` finds it by its name."""
    from weightspace import plan

    config, cells = _quick()
    family = FAMILIES["tying"]
    new = Artifact("gap", "figure", ("dataset", "net"), ("tying_summary.csv",), lambda i: [], "tying_params.rst",
                   "gap")
    before_targets, before_jobs = plan.targets(config, cells), plan.count_jobs(config)
    own = family.artifacts()
    monkeypatch.setattr(type(family), "artifacts", lambda self: (*own, new))
    added = sorted(set(plan.targets(config, cells)) - set(before_targets))
    assert added == sorted(f"figures/quick/{e}/gap__digits__{n}.{x}" for e, n in
                        (("tying", "small"), ("tying-crosslayer", "small-deep"), ("tying-autoencoder", "ae-small"))
                        for x in ("pdf", "png"))
    assert plan.count_jobs(config) == before_jobs
    assert artifacts.find(FAMILIES, "tying.gap") == (family, new)


def test_an_input_another_job_makes_counts_one_job():
    config, cells = _quick()
    from weightspace.plan import count_jobs, train_jobs

    jobs = count_jobs(config)
    n_train = {e: sum(j.experiment == e for j in train_jobs(config, cells)) for e in cells}
    ext = {e: artifacts.external_inputs(FAMILIES[config["experiments"][e]["family"]], config["experiments"][e], cs)
           for e, cs in cells.items()}
    assert ext["subspace"] == ["cost.csv"] and ext["sharing-sweep"] == ["meta_summary.csv"]
    assert not ext["tying"] and not ext["sharing"]
    # one job per dataset with files to fetch (mnist1d's cache); digits and the teachers are made in the jobs
    assert jobs["(data)"] == len({c["dataset"] for cs in cells.values() for c in cs.values()
                                  if config.datasets[c["dataset"]].files}) == 1
    assert jobs["tying"] == n_train["tying"] + 1  # its training jobs and its render job
    assert jobs["subspace"] == n_train["subspace"] + 1 + 1  # and the cost benchmark


def test_a_repeated_name_or_a_key_no_cell_has_is_refused():
    with pytest.raises(ValueError, match=r"artifact 'x': per \['teacher'\] has no key in weightspace.artifacts.KEYS"):
        Artifact("x", "figure", ("teacher",), (), lambda i: [], "x.rst", "x")
    with pytest.raises(ValueError, match="kind 'plot' is not figure or table"):
        Artifact("x", "plot", (), (), lambda i: [], "x.rst", "x")

    class Twice:
        name = "twice"

        def artifacts(self):
            a = Artifact("x", "table", (), (), lambda i: [], "x.rst", "x")
            return (a, a)

    with pytest.raises(ValueError, match="family 'twice': artifact name\\(s\\) x listed twice"):
        of_family(Twice())


def test_instances_follow_the_cells_and_when():
    config, cells = _quick()
    exp = config["experiments"]["sharing-images"]
    family = FAMILIES["sharing"]
    made = {(a.name, values) for a, values, _, _ in artifacts.outputs(family, "sharing-images", exp,
                                                                      cells["sharing-images"], Path("f"))}
    assert ("dynamics", ("digits", "small", "learned")) in made  # a learned sharing variant, per dataset x net
    assert not {v for n, v in made if n == "dynamics" and v[2] != "learned"}
    assert ("maps", ("digits__small__kmeans__k4",)) in made and ("structure", ("digits__small__kmeans__k4",)) not in made
    assert not {n for n, _ in made if n in ("sweep", "meta", "budget")}  # no sweep, no meta key, no budget here
