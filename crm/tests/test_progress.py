"""Progress output of the management commands: a bar on a terminal, lines elsewhere."""

import io

from django.core.management.base import OutputWrapper

from crm.management.progress import Progress


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


def test_progress_plain_lines_each_tenth():
    stream = io.StringIO()
    progress = Progress(OutputWrapper(stream), "sync", total=20)

    for _ in range(20):
        progress.advance(1)

    lines = stream.getvalue().splitlines()
    assert lines[0] == "sync: 2/20 messages"
    assert lines[-1] == "sync: 20/20 messages"
    assert len(lines) == 10


def test_progress_growing_total_reaches_end():
    stream = io.StringIO()
    progress = Progress(OutputWrapper(stream), "sync", total=2)
    progress.advance(2)

    progress.add_total(3)
    progress.advance(3)

    assert stream.getvalue().splitlines()[-1] == "sync: 5/5 messages"


def test_progress_bar_on_terminal():
    stream = TerminalStream()
    progress = Progress(OutputWrapper(stream), "sync", total=4)

    progress.advance(4)
    progress.close()

    assert "\r" in stream.getvalue()
    assert "4/4" in stream.getvalue()


def test_progress_silent_at_verbosity_zero():
    stream = TerminalStream()
    progress = Progress(OutputWrapper(stream), "sync", total=4, verbosity=0)

    progress.advance(4)
    progress.close()

    assert stream.getvalue() == ""
