"""The one family of errors that means "bad input", not a bug.

The CLI turns a `UserInputError` (and only that) into one line on stderr and exit status 2; anything else
is a bug and keeps its traceback (exit 1). They subclass `ValueError`, so Python callers that catch
`ValueError` keep working. Raise them where input is read or validated, with a message that names the
argument, file or directory and what is wrong with it. `MissingExtra` is not bad input but the environment:
an optional dependency that is not installed (one line saying what to install, exit 1).
"""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad input from the user. The message is shown as one line."""


class BadArgument(UserInputError):
    """An argument or option value (or an API argument) that cannot be used."""


class BadFile(UserInputError):
    """A user file (data, weights, activity, CSV rows) that is missing, unreadable or malformed."""


class BadRunDirectory(UserInputError):
    """A run / compare / context / bench directory that is missing, incomplete, corrupt or from a newer
    format."""


class MissingExtra(ImportError):
    """An optional dependency (an extra such as `rnnscope[ucr]`) is not installed; the message says what to
    install. Not bad input and not a bug: the CLI prints one line, exit status 1."""
