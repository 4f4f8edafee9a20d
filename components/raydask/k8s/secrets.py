"""What a secret looks like: the one rule raydask (at config time) and the policy pack (``--policy-pack``) apply to
every value that would be written in plaintext into an object, the rendered YAML and the Pulumi state.

A value is secret-looking when its **name** says so -- one of the words of :data:`SECRET_WORDS` (``PASSWORD``,
``SECRET``, ``TOKEN``, ``CREDENTIALS``…) or word pairs of :data:`SECRET_PAIRS` (``API_KEY``, ``ACCESS_KEY``,
``PRIVATE_KEY``…), in any case and with ``_``, ``-``, ``.`` or camelCase between words, unless the name ends in a word
of :data:`METADATA_WORDS` (``TOKEN_PATH``, ``SECRET_NAME``, ``PASSWORD_FILE``: they say where a secret is) -- and its
value is not a reference or a location (empty, ``$VAR``, ``${VAR}``, ``$(VAR)``, an absolute path, a URL without a
password, true/false, a number); or when the **value** itself has the form of a credential (:data:`VALUE_PATTERNS`: an
AWS access key id, a GitHub, GitLab, Slack, Hugging Face or OpenAI token, a Google API key, a PEM private key, a URL with
a password), whatever its name.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

SECRET_WORDS: Final = frozenset({"password", "passwd", "passphrase", "secret", "secrets", "token", "tokens", "credential",
                                 "credentials", "apikey", "apikeys", "privatekey", "accesskey", "secretkey", "authkey",
                                 "pwd"})
"""Words that make a name secret-looking."""
SECRET_PAIRS: Final = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("auth", "key"),
                                 ("session", "key"), ("signing", "key"), ("encryption", "key"), ("client", "secret")})
"""Word pairs that make a name secret-looking."""
METADATA_WORDS: Final = frozenset({"file", "path", "dir", "url", "uri", "endpoint", "name", "arn", "id", "ids", "type",
                                   "mode", "enabled", "disabled", "ttl", "timeout", "length", "ref", "version", "header",
                                   "audience", "scope", "scopes", "issuer", "expiry", "expiration", "kind", "source"})
"""Last words of names that say where or what a secret is, not the secret (``TOKEN_PATH``, ``SECRET_NAME``)."""
NOT_SECRET_NAMES: Final = frozenset({"PWD", "OLDPWD"})
"""Names that match a word but are never secrets (the shell's working directory)."""
VALUE_PATTERNS: Final = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}\b"), "a GitHub token"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), "a GitLab token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "a Slack token"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), "a Hugging Face token"),
    (re.compile(r"\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}\b"), "an API secret key (sk-…)"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "a Google API key"),
    (re.compile(r"-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"), "a URL with a password"),
)
"""Values that are credentials whatever their name."""
_REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\([A-Za-z_][A-Za-z0-9_.-]*\)")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> list[str]:
    """The words of a name, lower-case: ``AWS_SECRET_ACCESS_KEY`` / ``awsSecretAccessKey`` / ``aws-secret.access-key``
    -> ``[aws, secret, access, key]``."""
    return [w.lower() for w in _WORD.findall(name)]


def secret_name(name: str) -> str | None:
    """The word(s) that make ``name`` secret-looking (``password``, ``api key``), or None."""
    if not isinstance(name, str) or name in NOT_SECRET_NAMES:
        return None
    found = words(name)
    if not found or found[-1] in METADATA_WORDS:
        return None
    for i, word in enumerate(found):
        if word in SECRET_WORDS:
            return word
        if i + 1 < len(found) and (word, found[i + 1]) in SECRET_PAIRS:
            return f"{word} {found[i + 1]}"
    return None


def secret_value(value: Any) -> str | None:
    """What the credential ``value`` looks like (``an AWS access key id``), or None."""
    if not isinstance(value, str):
        return None
    for pattern, what in VALUE_PATTERNS:
        if pattern.search(value):
            return what
    return None


def is_reference(value: Any) -> bool:
    """Whether ``value`` says where a secret is rather than being one: empty, ``$VAR`` / ``${VAR}`` / ``$(VAR)``, an
    absolute path, a URL without a password or secret-looking query parameter, true/false, or a number."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    if not text or _REFERENCE.fullmatch(text) or text.startswith("/") or text.lower() in ("true", "false", "none", "null"):
        return True
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        return True
    parts = urlsplit(text)
    if parts.scheme and parts.netloc and " " not in text:
        return parts.password is None and not any(secret_name(k) for k, _ in parse_qsl(parts.query))
    return False


def plaintext_secret(name: str, value: Any) -> str | None:
    """Why ``value`` (named ``name``) looks like a secret written in plaintext -- ``the name says password``, ``the value
    looks like an AWS access key id`` -- or None."""
    if (what := secret_value(value)) is not None:
        return f"the value looks like {what}"
    if (word := secret_name(name)) is not None and not is_reference(value):
        return f"the name says {word}"
    return None
