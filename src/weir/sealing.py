"""Secrets at rest: push-provider keys are stored encrypted (Fernet: AES-128-CBC with an HMAC-SHA256), so a copy
of the database alone gives them away to nobody.

The key is ``WEIR_SECRET_KEY`` (a Fernet key: 32 url-safe base64 bytes), else ``secret.key`` in the data
folder, made on the first start (0600, like the folder's other files). Losing it loses the stored push keys:
they have to be set again.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from weir.config import private_files

PREFIX = "fernet:"
KEY_FILE = "secret.key"


class SealError(ValueError):
    """A sealed value this key cannot open (another key, or damaged)."""


class Sealer:
    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError("WEIR_SECRET_KEY must be a Fernet key (32 url-safe base64-encoded bytes)") from exc

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def unseal(self, value: str) -> str:
        """The secret; a value stored before sealing existed (no prefix) is returned as it is."""
        if not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SealError("a stored secret cannot be decrypted with this WEIR_SECRET_KEY") from None


def load_sealer(secret_key: str | None, data_dir: Path) -> Sealer:
    """The sealer of ``WEIR_SECRET_KEY``, else of the data folder's key file (made now if missing)."""
    if secret_key:
        return Sealer(secret_key)
    path = data_dir / KEY_FILE
    with private_files():
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(Fernet.generate_key())
    return Sealer(path.read_bytes().strip())
