"""Message bytes and bodies use LZ4 compression on PostgreSQL."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

migration = importlib.import_module("emailsync.migrations.0012_lz4_for_message_bytes")


def compression_of(table, column):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def test_message_columns_use_lz4_on_postgresql():
    if connection.vendor != "postgresql":
        # SQLite has no per-column compression: the migration must do nothing.
        with CaptureQueriesContext(connection) as queries:
            migration.set_compression("lz4")(apps, SimpleNamespace(connection=connection))
        assert len(queries) == 0
        return

    for table, column in migration.COLUMNS:
        assert compression_of(table, column) == "l", (table, column)
