"""The amount bands of ``include/dictionaries/approval_bands.yaml``, validated when loaded.

Each band holds the amounts ``> low`` and ``<= high`` (the first starts at 0, the last has no upper
bound) and lists the roles that approve them, in the order 主管 → 财务 → 总监. Overrides replace the
default bands for a company, an expense category, or both; the most specific one wins.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from expense_sync.settings import INCLUDE_DIR

BANDS_FILE = INCLUDE_DIR / "dictionaries" / "approval_bands.yaml"
Role = Literal["主管", "财务", "总监"]
ROLES: tuple[Role, ...] = ("主管", "财务", "总监")  # the order a chain runs in


class Band(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: Decimal | None = None
    roles: tuple[Role, ...]

    @model_validator(mode="after")
    def _roles_in_order(self) -> Band:
        if not self.roles:
            raise ValueError("a band needs at least one role")
        if len(set(self.roles)) != len(self.roles):
            raise ValueError(f"a role is listed twice: {list(self.roles)}")
        if list(self.roles) != sorted(self.roles, key=ROLES.index):
            raise ValueError(f"roles must run 主管 → 财务 → 总监, not {' → '.join(self.roles)}")
        if self.up_to is not None and self.up_to <= 0:
            raise ValueError("up_to must be above 0")
        return self


def _check_bands(bands: tuple[Band, ...]) -> None:
    if not bands:
        raise ValueError("no bands")
    if bands[-1].up_to is not None:
        raise ValueError("the last band must be open (no up_to)")
    limits = [b.up_to for b in bands[:-1]]
    if any(limit is None for limit in limits):
        raise ValueError("only the last band may be open")
    if limits != sorted(limits) or len(set(limits)) != len(limits):  # type: ignore[type-var]
        raise ValueError(f"bands must ascend: {limits}")


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    company: str | None = None
    category: str | None = None
    bands: tuple[Band, ...]

    @model_validator(mode="after")
    def _valid(self) -> Override:
        if self.company is None and self.category is None:
            raise ValueError("an override names a company, a category or both")
        _check_bands(self.bands)
        return self


class BandTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "CNY"
    default: tuple[Band, ...]
    overrides: tuple[Override, ...] = Field(default=())

    @model_validator(mode="after")
    def _valid(self) -> BandTable:
        _check_bands(self.default)
        keys = [(o.company, o.category) for o in self.overrides]
        if len(set(keys)) != len(keys):
            raise ValueError("two overrides for the same company and category")
        return self

    def rows(self, company: str | None, category: str | None) -> list[tuple[Decimal, Decimal | None, Role, int]]:
        """The bands that apply to ``company`` and ``category`` (``None``: any), as (low, high, role,
        seq) per step."""
        applies = [o for o in self.overrides if o.company in (None, company) and o.category in (None, category)]
        rank = {(True, True): 3, (False, True): 2, (True, False): 1}  # (names the company, the category)
        chosen = self.default
        if applies:
            chosen = max(applies, key=lambda o: rank[(o.company is not None, o.category is not None)]).bands
        out, low = [], Decimal(0)
        for band in chosen:
            for seq, role in enumerate(band.roles, 1):
                out.append((low, band.up_to, role, seq))
            low = band.up_to if band.up_to is not None else low
        return out

    def scopes(self, company: str | None) -> list[str | None]:
        """The categories that get rows of their own for a cost center of ``company``: ``None`` (any),
        then each category an override names for that company or for every company."""
        cats = {o.category for o in self.overrides if o.category is not None and o.company in (None, company)}
        return [None, *sorted(cats)]


def load_file(path: Path) -> BandTable:
    """The bands of ``path``; a :class:`pydantic.ValidationError` names what is wrong."""
    return BandTable.model_validate(yaml.safe_load(path.read_text("utf-8")))


@cache
def band_table() -> BandTable:
    return load_file(BANDS_FILE)
