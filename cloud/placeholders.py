"""Which secrets are too weak to run with: the placeholders shipped in examples, and keys too short to sign with. Pure.

A token signed with a guessable key can be forged by anyone who guesses it, so the rule is the same in every mode,
development included: a real key is at least 32 bytes and none of the values people leave in place.
"""

MIN_KEY_BYTES = 32

# Values from .env.example, the docs and habit. Compared case-insensitively, without surrounding spaces.
PLACEHOLDERS = frozenset({
    "", "x", "xx", "xxx", "change-me", "changeme", "change_me", "change-this", "changethis", "secret", "secret-key",
    "secret_key", "secretkey", "mysecret", "password", "passw0rd", "admin", "test", "testing", "dev", "development",
    "default", "example", "placeholder", "replace-me", "replaceme", "todo", "none", "null", "eldercare",
})


def is_placeholder(value: str) -> bool:
    """True for a value nobody chose: a known placeholder, or one with `change-me`/`changeme` in it."""
    folded = value.strip().lower()
    return folded in PLACEHOLDERS or "change-me" in folded or "changeme" in folded or "change_me" in folded


def secret_key_problem(value: str, name: str = "ELDERCARE_SECRET_KEY") -> str | None:
    """Why `value` cannot sign tokens, in one line, or None when it can."""
    hint = "use at least 32 random bytes, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if is_placeholder(value):
        return f"{name} is a placeholder anyone can guess; {hint}"
    size = len(value.encode())
    if size < MIN_KEY_BYTES:
        return f"{name} is {size} bytes long; {hint}"
    if len(set(value)) < 8:
        return f"{name} repeats fewer than 8 distinct characters; {hint}"
    return None
