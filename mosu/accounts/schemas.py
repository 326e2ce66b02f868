"""What goes in and out of the accounts API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from mosu.permissions import Role


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    organisation_id: int | None
    is_active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str = Field(description="At least 10 characters, not a common password.")
    role: Role
    organisation_id: int | None = None
    display_name: str = ""


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewToken(TokenOut):
    token: str = Field(description="The token itself; shown this once and never again.")


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str
    new_password: str = Field(description="At least 10 characters, not a common password.")


class PasswordResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(description="At least 10 characters, not a common password.")
