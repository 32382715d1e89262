"""The Spanish catalogue is complete and its compiled file is current."""

import subprocess
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_spanish_catalogue_has_no_untranslated_entries():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True, text=True, check=True, env={"LC_ALL": "C"},
    )

    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr


def test_spanish_compiled_catalogue_is_current(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True)

    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes()
