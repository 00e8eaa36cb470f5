"""Errors that end a command with a one-line reason and a non-zero exit."""


class UserError(Exception):
    """Bad input or configuration the user can fix; printed as one line, exit code 2."""


class StoreError(UserError):
    """The store cannot be reached, read or written (bad URI, credentials, missing key)."""
