"""The README is the manual: every setting and every endpoint is documented there
(after datasette's test_docs.py), and the two set-up commands come first."""

from __future__ import annotations

import re
from pathlib import Path

from settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def env_name(name: str, field) -> str:
    alias = field.validation_alias
    return str(alias) if alias else f"CHAYUE_{name.upper()}"


def test_every_setting_is_documented():
    missing = [env_name(n, f) for n, f in Settings.model_fields.items() if env_name(n, f) not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_endpoint_is_documented():
    from api.app import create_app

    paths = create_app(Settings()).openapi()["paths"]
    missing = [f"{m.upper()} {p}" for p, ops in paths.items() for m in ops
               if f"{m.upper()} {p.replace('{doc_id}', '{id}')}" not in README]
    assert not missing, f"endpoints missing from README.md: {missing}"


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    assert "make demo" in first_block and "make test" in first_block
