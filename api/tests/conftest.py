import pytest

from api.services import api_key_create


@pytest.fixture
def api_key(merchant, staff):
    """(key, raw key) of a terminal of `merchant`, made by its owner."""
    return api_key_create(merchant=merchant, name="Front till", acting_user=staff["owner"])


@pytest.fixture
def api(client, api_key):
    """The test client speaking to /api/v1/ with `api_key`: api.get(path, **query), api.post(path, body, key=...)."""
    _, raw = api_key

    class Api:
        def __init__(self, raw_key):
            self.headers = {"Authorization": f"Bearer {raw_key}"}

        def get(self, path, **query):
            return client.get(f"/api/v1{path}", query, headers=self.headers)

        def post(self, path, body=None, *, key=None, raw=None):
            headers = dict(self.headers)
            if key:
                headers["Idempotency-Key"] = key
            data = raw if raw is not None else (body if body is not None else {})
            return client.post(f"/api/v1{path}", data, content_type="application/json", headers=headers)

    return Api(raw)
