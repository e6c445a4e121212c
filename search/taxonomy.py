"""The theme taxonomy: a readable TOML file (shipped default or `KB_THEMES_FILE`), validated with pydantic so a
typo names the file and the field instead of silently tagging nothing."""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_THEMES_FILE = Path(__file__).resolve().parent.parent / "core" / "themes.toml"
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be read or does not validate; the message names the file and field."""


class UnknownTheme(KeyError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(name)
        self.name, self.known = name, known

    def __str__(self) -> str:
        return f"unknown theme {self.name!r}; known themes: {', '.join(self.known)}"


class Scoring(BaseModel):
    """How embedding similarity and seed-phrase evidence combine into one score per theme."""

    model_config = ConfigDict(extra="forbid")
    embed_weight: float = Field(default=1.0, ge=0)
    phrase_weight: float = Field(default=0.25, ge=0, description="weight of the saturating seed-phrase evidence")
    phrase_saturation: float = Field(default=2.0, gt=0, description="occurrences at which phrase evidence is ~63%")
    threshold: float = Field(default=0.5, description="default score a passage needs to carry a theme")
    min_matches: int = Field(default=0, ge=0, description="seed-phrase occurrences a passage needs besides the score")
    contrast: float = Field(default=0.0, ge=0, description="how much a passage's mean similarity to all themes is "
                            "subtracted, so generally 'leadership-y' passages do not carry every theme")
    contrast_center: float = Field(default=0.0, description="typical mean similarity (kept, not subtracted)")
    window_weight: float = Field(default=0.0, ge=0, le=1, description="share of the similarity taken from the passage's "
                                 "two best sentence windows (stored vectors) instead of the whole passage")


class Theme(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="slug used in filters and URLs, e.g. letting-go")
    label: str = ""
    description: str = Field(min_length=3)
    seeds: list[str] = Field(min_length=1, description="phrases matched on lemmas (delegated ~ delegate)")
    key_phrases: list[str] = Field(default_factory=list, description="seeds that nearly define the theme; count triple")
    exemplars: list[str] = Field(default_factory=list, description="sentences typical of the theme, embedded")
    threshold: float | None = None
    phrase_weight: float | None = Field(default=None, ge=0)
    embed_weight: float | None = Field(default=None, ge=0)
    min_matches: int | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be lower-case words joined by hyphens, e.g. 'letting-go'")
        return v

    @model_validator(mode="after")
    def _label(self) -> Theme:
        if not self.label:
            self.label = self.name.replace("-", " ").capitalize()
        return self


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scoring: Scoring = Field(default_factory=Scoring)
    theme: list[Theme] = Field(min_length=1)
    path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        seen: set[str] = set()
        for t in self.theme:
            if t.name in seen:
                raise ValueError(f"theme {t.name!r} is defined twice")
            seen.add(t.name)
        return self

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.theme]

    def get(self, name: str) -> Theme:
        """A theme by slug, label or a loose spelling ("Letting go", "letting_go")."""
        key = normalize(name)
        for t in self.theme:
            if key in (t.name, normalize(t.label)):
                return t
        raise UnknownTheme(name, self.names)

    def threshold(self, t: Theme) -> float:
        return self.scoring.threshold if t.threshold is None else t.threshold

    def min_matches(self, t: Theme) -> int:
        return self.scoring.min_matches if t.min_matches is None else t.min_matches

    def fingerprint(self) -> str:
        """Changes whenever anything that affects tags changes; stored so stale tags can be detected."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def normalize(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Parse and validate a taxonomy file (default: the one shipped in core/themes.toml)."""
    path = Path(path or DEFAULT_THEMES_FILE)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot read themes file ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(f"{path}: invalid TOML: {exc}") from exc
    try:
        tax = Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = list(e["loc"])
            if len(loc) >= 2 and loc[0] == "theme" and isinstance(loc[1], int):
                items = data.get("theme") or []
                name = items[loc[1]].get("name") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
                loc[1] = f"[{loc[1]}]" + (f" ({name})" if name else "")
            problems.append(f"{'.'.join(str(p) for p in loc).replace('.[', '[')}: {e['msg']}")
        raise TaxonomyError(f"{path}: invalid themes file: " + "; ".join(problems)) from exc
    tax.path = str(path)
    return tax
