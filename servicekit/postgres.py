"""psycopg2 is a C extension: without a wait callback its queries block the whole process
under eventlet. psycogreen installs one that yields to the hub while PostgreSQL works."""

_done = False


def make_green():
    global _done
    if not _done:
        from psycogreen.eventlet import patch_psycopg
        patch_psycopg()
        _done = True
