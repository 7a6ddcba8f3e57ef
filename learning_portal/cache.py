"""Django's Redis cache, without a new redis-py client object for every cache call.

`django.core.cache.backends.redis.RedisCacheClient.get_client` builds a `redis.Redis`
each time it is called; with redis-py 5+ that object sets up a table of some 170 response
callbacks, which costs more than the round trip it is made for (~0.3 ms; a course page
makes several cache reads). redis-py clients are thread-safe and share their connection
pool (which also copes with forked workers), so one client per pool serves every call.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class PortalRedisCache(RedisCache):
    """settings.CACHES backend when REDIS_URL is set."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
