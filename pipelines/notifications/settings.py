"""The `notifications:` section of the deployment file as a typed model (a section of
pipelines.settings.DeploymentFile, parsed and reported with the rest of the file).

Unknown keys are refused by name (`extra="forbid"`), so a misspelt `reminder_dayz` is an error, never
silently ignored. Without the section nothing is sent.
"""

from __future__ import annotations

import email.utils
import pathlib
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from pipelines.names import clinic_key

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# One mailbox an SMTP relay accepts without SMTPUTF8: a dot-atom local part and a dotted domain; what goes into
# an envelope and a header. The roster suite warns `invalid_email` on an email that is not one.
ADDRESS_PATTERN = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
_ADDRESS = re.compile(ADDRESS_PATTERN)


def one_address(text: Any) -> str | None:
    """The address when `text` is exactly one valid mailbox address (surrounding blanks aside), else None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text if _ADDRESS.fullmatch(text) else None


def _address(value: Any) -> str:
    address = one_address(value)
    if address is None:
        raise ValueError(f"{value!r} is not one email address such as name@example.org")
    return address


Address = Annotated[str, AfterValidator(_address)]


def _distinct(addresses: tuple[str, ...]) -> tuple[str, ...]:
    """Each address once, in lower case as the roster's are: listed twice, or in two cases, it would get two digests."""
    return tuple(dict.fromkeys(address.lower() for address in addresses))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: StrictBool = True
    username_env: str | None = None  # names of environment variables, so no secret sits in the file
    password_env: str | None = None
    timeout_seconds: float = Field(30, gt=0)
    max_per_minute: int | None = Field(None, ge=1)  # the relay's rate limit; None: as fast as it accepts


class NotificationSettings(_Strict):
    smtp: SmtpSettings
    sender: str
    site_url: str | None = None
    reminder_days: tuple[int, ...] = (90, 60, 30, 7)
    overdue_every_days: int = Field(7, ge=0)
    clinicians: StrictBool = True
    clinic_managers: dict[str, tuple[Address, ...]] = {}
    organisation: tuple[Address, ...] = ()
    operators: tuple[Address, ...] = ()
    digest_weekday: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]
    outbox: pathlib.Path | None = None  # resolved against the configuration file's folder

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must be one line")
        if one_address(email.utils.parseaddr(value)[1]) is None:
            raise ValueError(f"{value!r} is not a sender such as \"CE Compliance <ce-compliance@example.org>\" or one email address")
        return value.strip()

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s<>\"']+", value):
            raise ValueError(f"{value!r} is not an http(s) URL such as https://ce.example.org")
        return value.rstrip("/") if value else value

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(days < 0 for days in value):
            raise ValueError("each threshold must be a whole number of days >= 0")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("clinic_managers")
    @classmethod
    def _managers(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """Clinic names match the roster's by `clinic_key`, so names that differ only in capitals or blanks are one clinic."""
        merged: dict[str, tuple[str, ...]] = {}
        spelling: dict[str, str] = {}
        for clinic, addresses in sorted(value.items()):
            name = spelling.setdefault(clinic_key(clinic), clinic.strip())
            merged[name] = _distinct((*merged.get(name, ()), *addresses))
        return merged

    @field_validator("organisation", "operators")
    @classmethod
    def _distinct_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _distinct(value)

    @field_validator("digest_weekday", mode="before")
    @classmethod
    def _weekday(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def digest_weekday_number(self) -> int:
        """0 = Monday, as `date.weekday()` counts."""
        return WEEKDAYS.index(self.digest_weekday)

    @property
    def sender_address(self) -> str:
        return email.utils.parseaddr(self.sender)[1]
