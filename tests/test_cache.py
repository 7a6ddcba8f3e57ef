"""The Redis cache backend reuses one redis-py client per connection pool."""

from __future__ import annotations

import os

import pytest

from learning_portal.cache import PortalRedisCache


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_one_client_serves_every_call_and_the_cache_works():
    cache = PortalRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "lp-test-cache"})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=False) is client
    assert cache._cache.get_client("some-key", write=True) is client

    cache.set("k", {"n": 1}, 30)
    assert cache.get("k") == {"n": 1}
    assert cache.add("k", 2, 30) is False
    cache.delete("k")
    assert cache.get("k") is None


def test_settings_use_it_with_redis(settings):
    if os.environ.get("REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"] == "learning_portal.cache.PortalRedisCache"
        assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    else:
        assert "locmem" in settings.CACHES["default"]["BACKEND"]
        assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
