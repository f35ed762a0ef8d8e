"""The one byte-bounded LRU behind the small-blob, manifest and upload hash caches."""
from registry.store.lru import ByteLRU


def test_evicts_least_recently_used_by_bytes():
    cache: ByteLRU[str, bytes] = ByteLRU(limit=10, largest=6, size_of=len)
    cache.put("a", b"aaaa")
    cache.put("b", b"bbbb")
    assert cache.get("a") == b"aaaa"   # now "b" is the least recently used
    cache.put("c", b"cccc")            # 12 bytes > 10: "b" goes
    assert cache.get("b") is None and cache.get("a") == b"aaaa" and cache.get("c") == b"cccc"


def test_refuses_what_is_larger_than_an_entry_may_be_and_keeps_the_first_value():
    cache: ByteLRU[str, bytes] = ByteLRU(limit=100, largest=3, size_of=len)
    cache.put("big", b"four")
    cache.put("k", b"one")
    cache.put("k", b"two")
    assert cache.get("big") is None and cache.get("k") == b"one"


def test_take_serves_once_and_frees_its_bytes():
    cache: ByteLRU[str, bytes] = ByteLRU(limit=8, largest=8, size_of=len)
    cache.put("a", b"aaaa")
    cache.put("b", b"bbbb")
    assert cache.take("a") == b"aaaa" and cache.take("a") is None
    cache.put("c", b"cccc")            # fits in the bytes "a" gave back: "b" stays
    assert cache.get("b") == b"bbbb" and cache.get("c") == b"cccc"
