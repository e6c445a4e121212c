"""spaCy for the query path, without PyTorch.

Importing spaCy imports thinc, and thinc imports PyTorch whenever it is installed (thinc/compat.py), although the
blank English pipelines kb uses (sentencizer, lookup lemmatizer, rule matchers) never touch it: ~1.3 s and
hundreds of MB for every `kb ask`. `spacy()` imports spaCy with `torch` made unimportable for the duration
(a None entry in sys.modules is Python's documented way to make an import fail), so thinc records that PyTorch
is absent. Afterwards torch imports normally again, for the code that really uses it (ingest with the PyTorch
encoder, the ONNX export). Import spaCy through here, or after it: a module that imports spaCy first, at its top,
brings torch back into every command that imports it (tests/search/test_query_path.py checks).

`stop_words()` reads spaCy's English stop word list from spaCy's own file without importing spaCy (~1-2 s of
imports for a set of words that `kb search` needs for BM25)."""
from __future__ import annotations

import importlib.util
import sys
import threading
from functools import lru_cache
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()


def spacy() -> ModuleType:
    """The spaCy module, imported without PyTorch unless PyTorch is already loaded."""
    module = sys.modules.get("spacy")
    if module is not None:
        return module
    with _lock:
        if "torch" in sys.modules:  # already paid for (an ingest encoding with PyTorch): nothing to save
            import spacy as module

            return module
        sys.modules["torch"] = None  # type: ignore[assignment]
        try:
            import spacy as module
        finally:
            if sys.modules.get("torch", 0) is None:
                del sys.modules["torch"]
        return module


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English STOP_WORDS (spacy/lang/en/stop_words.py, a plain module), without importing spaCy."""
    spec = importlib.util.find_spec("spacy")  # locates the package without running it
    path = Path(spec.origin).parent / "lang" / "en" / "stop_words.py" if spec and spec.origin else None
    if path is None or not path.is_file():  # a layout we do not know: the ordinary way
        return frozenset(_imported_stop_words())
    loader_spec = importlib.util.spec_from_file_location("_kb_spacy_en_stop_words", path)
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


def _imported_stop_words() -> set[str]:
    spacy()
    from spacy.lang.en.stop_words import STOP_WORDS

    return STOP_WORDS
