"""Progress output for management commands.

On a terminal a tqdm bar redraws one line in place. Anywhere else (a pipe,
a log file, cron) a bar would fill the output with carriage returns, so
plain lines are written instead, one each time another tenth of the work
is done.
"""

from tqdm import tqdm


class Progress:
    """Progress of one unit of work whose total may grow while it runs.

    `stdout` is the command's OutputWrapper. Nothing is written at
    verbosity 0.
    """

    def __init__(self, stdout, label, total=0, verbosity=1, unit="messages"):
        self.stdout = stdout
        self.label = label
        self.unit = unit
        self.total = total
        self.done = 0
        self.enabled = verbosity >= 1
        self._last_printed_tenth = 0
        self._bar = None
        if self.enabled and stdout.isatty():
            # tqdm needs the raw stream: OutputWrapper appends a newline to
            # every write, which breaks the redraw with "\r".
            self._bar = tqdm(total=total, desc=label, unit=f" {unit}", file=stdout._out, leave=True)

    def add_total(self, count):
        """Grow the expected total, as when a sync reaches another folder."""
        self.total += count
        if self.total:
            self._last_printed_tenth = 10 * self.done // self.total
        if self._bar is not None:
            self._bar.total = self.total
            self._bar.refresh()

    def advance(self, count):
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self.enabled:
            self._print_line_if_due()

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _print_line_if_due(self):
        if not self.total:
            return
        tenth = min(10 * self.done // self.total, 10)
        if tenth > self._last_printed_tenth:
            self._last_printed_tenth = tenth
            self.stdout.write(f"{self.label}: {self.done}/{self.total} {self.unit}")
