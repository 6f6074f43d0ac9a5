"""Sending over SMTP with the standard library: one connection per run, STARTTLS, login from the
environment variables the configuration names, a timeout, and pacing to the relay's rate limit.

`send` returns None once the server accepted the message, else the error in words; it never raises for
a refusal, a timeout or a failed login, so a bad relay cannot stop a run.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from pipelines.notifications.settings import SmtpSettings


class SmtpSession:
    def __init__(
        self,
        smtp: SmtpSettings,
        environ: Mapping[str, str] = os.environ,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._settings = smtp
        self._environ = environ
        self._sleep = sleep
        self._clock = clock
        self._client: smtplib.SMTP | None = None
        self._broken: str | None = None  # a failed connect or login: every further send fails with it, fast
        self._last_send: float | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                self._client.close()
            self._client = None

    def _credentials(self) -> tuple[str, str] | None:
        smtp = self._settings
        if not smtp.username_env:
            return None
        missing = [name for name in (smtp.username_env, smtp.password_env) if name and not self._environ.get(name)]
        if missing or not smtp.password_env:
            raise _ConnectError(
                f"environment variable {', '.join(missing) or '(password_env not configured)'} named by notifications.smtp is not set"
            )
        return self._environ[smtp.username_env], self._environ[smtp.password_env]

    def _connect(self) -> smtplib.SMTP:
        smtp = self._settings
        where = f"{smtp.host}:{smtp.port}"
        try:
            credentials = self._credentials()
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        except _ConnectError:
            raise
        except (smtplib.SMTPException, OSError) as error:
            raise _ConnectError(f"cannot connect to {where}: {error}") from error
        try:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if credentials:
                client.login(*credentials)
        except smtplib.SMTPAuthenticationError as error:
            client.close()
            raise _ConnectError(f"{where} refused the login of {credentials[0]!r}: {error.smtp_code} {_text(error.smtp_error)}") from error
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            client.close()
            raise _ConnectError(f"{where}: {'STARTTLS' if smtp.starttls else 'login'} failed: {error}") from error
        return client

    def _pace(self) -> None:
        if not self._settings.max_per_minute:
            return
        interval = 60 / self._settings.max_per_minute
        if self._last_send is not None:
            wait = self._last_send + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_send = self._clock()

    def send(self, message: EmailMessage, sender: str, recipient: str) -> str | None:
        """Send to exactly `recipient`; None when the server accepted it, else why not."""
        if self._broken:
            return self._broken
        self._pace()
        for attempt in (1, 2):
            try:
                if self._client is None:
                    self._client = self._connect()
                self._client.send_message(message, from_addr=sender, to_addrs=[recipient])
                return None
            except _ConnectError as error:
                self._broken = str(error)
                return self._broken
            except smtplib.SMTPServerDisconnected as error:
                self._client = None
                if attempt == 2:
                    return f"the server closed the connection: {error}"
            except smtplib.SMTPRecipientsRefused as error:
                code, reply = error.recipients.get(recipient, (None, b""))
                return f"recipient refused: {code} {_text(reply)}"
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError, smtplib.SMTPResponseException) as error:
                return f"refused: {error.smtp_code} {_text(error.smtp_error)}"
            except (smtplib.SMTPException, OSError) as error:  # a timeout is an OSError
                if self._client is not None:
                    self._client.close()  # not quit(): the server may not answer at all
                    self._client = None
                return f"{type(error).__name__}: {error}"
        return None  # unreachable


class _ConnectError(Exception):
    pass


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
