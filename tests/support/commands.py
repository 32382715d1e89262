"""Run a management command in-process and keep everything it printed."""

import io
from dataclasses import dataclass

from django.core.management import CommandError, call_command


@dataclass
class CommandResult:
    stdout: str
    stderr: str
    error: CommandError | None

    @property
    def output(self):
        """Return stdout, stderr and the CommandError's message together."""
        return "\n".join([self.stdout, self.stderr, str(self.error or "")])


def run_command(name, *args, **options):
    """Call the command; a CommandError is returned in the result, not raised."""
    stdout, stderr = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command(name, *args, stdout=stdout, stderr=stderr, **options)
    except CommandError as exc:
        error = exc
    return CommandResult(stdout.getvalue(), stderr.getvalue(), error)
