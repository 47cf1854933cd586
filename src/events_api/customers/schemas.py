"""Shapes of the customer directory file operators load (YAML, JSON or CSV)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

IdentifierType = Literal["email", "phone", "external_id"]
IDENTIFIER_TYPES: tuple[IdentifierType, ...] = ("email", "phone", "external_id")
Text = Field(min_length=1, max_length=255)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ExternalIdIn(_Entry):
    customer_source_id: str = Text
    external_id: str = Text


class CustomerIn(_Entry):
    customer_id: str = Text
    email: str | None = Field(default=None, max_length=255, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=64, pattern=r"^\+?[0-9 ()./-]{3,}$")
    external_ids: list[ExternalIdIn] = Field(default_factory=list)


class DirectoryFile(_Entry):
    customers: list[CustomerIn] = Field(default_factory=list)
