"""Run code in a thread with its own database connection, for race tests."""

import threading

from django.db import connections


class Worker(threading.Thread):
    """A thread that runs `function(*args, **kwargs)` once and keeps the outcome.

    Django gives each thread its own connection; the worker closes it at
    the end so the test database can be dropped afterwards.
    """

    def __init__(self, function, *args, **kwargs):
        super().__init__(daemon=True)
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.function(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001  (re-raised in outcome())
            self.error = exc
        finally:
            connections.close_all()

    def outcome(self, timeout=60):
        """Wait for the thread; return its result or raise its exception."""
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"{self.function.__name__} still running after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result


def start(function, *args, **kwargs):
    worker = Worker(function, *args, **kwargs)
    worker.start()
    return worker
