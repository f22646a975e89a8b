"""Errors in what the user gave a command: reported in one line, exit code 2."""


class UserError(ValueError):
    """An argument, var or input file the command cannot use; the message says why."""
