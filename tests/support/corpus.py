"""The shared corpus of real messages, read byte for byte."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIR = REPO.parent / "shared" / "corpus" / "messages"


def corpus_dir():
    return Path(os.environ.get("CRM_CORPUS_DIR", DEFAULT_DIR))


def corpus_files():
    """Return the corpus's .eml paths, sorted; skip (or fail under CI) without it."""
    folder = corpus_dir()
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    if not files:
        reason = f"mail corpus not found in {folder}; set CRM_CORPUS_DIR"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return files


def read_corpus(prefix=""):
    return [(path.name, path.read_bytes()) for path in corpus_files() if path.name.startswith(prefix)]
