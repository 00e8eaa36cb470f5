"""Errors that end a command with a one-line reason and a non-zero exit.

Exit codes are a contract with the Jobs that run the commands (docs/operations.md):
``EXIT_BAD_INPUT`` fails a Kubernetes index at once (retrying cannot help),
``EXIT_TEMPFAIL`` is trouble that may pass and is retried.
"""

EXIT_BAD_INPUT = 2
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL of sysexits.h: "try again later"


class UserError(Exception):
    """Bad input or configuration the user can fix; printed as one line, exit code 2."""


class StoreError(UserError):
    """The store cannot be reached, read or written (bad URI, credentials, missing key)."""


class TransientError(Exception):
    """Trouble that may pass (a service down, a network cut); one line, exit code 75."""


class StoreUnreachable(TransientError):
    """The store did not answer (connection refused, timeouts, 5xx) after the retries.

    Not a :class:`StoreError`: code that turns a missing object into bad input must not
    turn an outage into bad input too.
    """
