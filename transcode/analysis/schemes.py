"""Category scheme files: a team's categories per domain, written in YAML (see docs/formats.md).

::

    domains:
      rupture_markers:
        - name: Client withdrew
          subcategories: [{name: Went quiet}, {name: Cancelled sessions}]
        - name: Other
          other: true
"""

from __future__ import annotations

from pathlib import Path

from transcode.errors import InputError
from transcode.files import read_yaml


def read_scheme(path: str | Path) -> dict[str, list[dict]]:
    """The category scheme file: ``domains: {DOMAIN: [{name, other?, subcategories: [{name}]}]}``."""
    data = read_yaml(path)
    domains = data.get("domains") if isinstance(data, dict) else None
    if not isinstance(domains, dict) or not all(isinstance(v, list) for v in domains.values()):
        raise InputError("expected 'domains:' mapping each domain id to a list of categories", str(path))
    for items in domains.values():
        for item in items:
            if not isinstance(item, dict) or not item.get("name"):
                raise InputError(f"every category needs a name (got {item!r})", str(path))
    return domains
