"""Bodies of the auth and user endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from control_api.models import Role

USERNAME = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")


class TokenRequest(BaseModel):
    """Credentials, as JSON or as an OAuth2 password-grant form."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "alice", "password": "s3cret-pass"}]}
    )

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs…",
                    "token_type": "bearer",
                    "expires_in": 3600,
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "bob", "password": "correct-horse", "role": "viewer"}]
        }
    )

    username: str = USERNAME
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.viewer


class UserUpdate(BaseModel):
    """Admin changes to a user; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "operator", "disabled": False}]}
    )

    role: Role | None = None
    disabled: bool | None = Field(
        default=None, description="true revokes every token of the user and closes its consumers."
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "correct-horse", "new_password": "battery-staple"}]
        }
    )

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c2a4e-2b0d-4c1e-9f55-0f5a7c1d9e21",
                    "username": "bob",
                    "role": "viewer",
                    "disabled": False,
                    "created_at": "2026-11-25T13:00:00Z",
                }
            ]
        }
    )

    id: str
    username: str
    role: Role
    disabled: bool = False
    created_at: datetime
