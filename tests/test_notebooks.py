"""The researcher notebooks in notebooks/ run start to finish on the demo corpus, with their plots."""

from __future__ import annotations

import pytest

from tests.support import REPO

NOTEBOOKS = REPO / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_agreement_and_suggestions.ipynb", "02_cross_analysis.ipynb"])
def test_notebook_runs(name, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3
