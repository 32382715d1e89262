"""Storage failures on demand, for tests of what sync does when a message cannot be saved."""

from django.db import DatabaseError


def reject_raw_message(marker):
    """Return a connection.execute_wrapper that fails every insert of raw bytes containing `marker`."""

    def wrapper(execute, sql, params, many, context):
        rows = params if many else [params or ()]
        # psycopg wraps bytes parameters in a Binary object holding them in .obj.
        values = [getattr(value, "obj", value) for row in rows for value in row]
        if "emailsync_rawmessage" in sql and any(
            isinstance(value, (bytes, memoryview)) and marker in bytes(value) for value in values
        ):
            raise DatabaseError("simulated storage failure")
        return execute(sql, params, many, context)

    return wrapper
