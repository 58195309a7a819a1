import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture
async def thread_connections():
    """Django's test client leaves the connection of the thread that ran an async request's view open
    (it must not close the test's own); an async test closes it, or the test database cannot be dropped."""
    yield
    await sync_to_async(connections.close_all)()
