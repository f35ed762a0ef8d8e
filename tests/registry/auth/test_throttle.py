"""The failure throttle, on a clock the test moves (no sleeps, no timing)."""
from registry.auth.throttle import FailureThrottle, address_key


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def throttle(**options):
    clock = Clock()
    return FailureThrottle(clock=clock, **options), clock


def test_delays_start_after_the_free_failures_and_double_up_to_the_cap():
    gate, _ = throttle(free=3, base=0.25, cap=2.0)
    delays = []
    for _ in range(8):
        delays.append(gate.delay("192.0.2.7"))
        gate.failed("192.0.2.7")
    assert delays == [0, 0, 0, 0.25, 0.5, 1.0, 2.0, 2.0]


def test_the_delay_belongs_to_the_address_not_to_anyone_else():
    gate, _ = throttle(free=1)
    for _ in range(10):
        gate.failed("192.0.2.7")
    assert gate.delay("192.0.2.7") > 0
    assert gate.delay("192.0.2.8") == 0 and gate.reserve("192.0.2.8") == 0


def test_concurrent_checks_from_one_address_are_spaced_and_then_refused():
    gate, clock = throttle(free=0, base=1.0, cap=1.0, max_wait=3.0)
    gate.failed("192.0.2.7")
    waits = [gate.reserve("192.0.2.7") for _ in range(4)]
    assert waits == [1.0, 2.0, 3.0, None]     # the fourth would wait past max_wait: 429
    clock.now += 10
    assert gate.reserve("192.0.2.7") == 1.0   # the queue drained


def test_failures_are_forgotten_after_a_quiet_while():
    gate, clock = throttle(free=1, forget_after=60)
    for _ in range(5):
        gate.failed("192.0.2.7")
    clock.now += 61
    assert gate.delay("192.0.2.7") == 0


def test_the_table_stays_bounded_under_a_flood_of_addresses():
    gate, _ = throttle(max_addresses=100)
    for n in range(5000):
        gate.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(gate) == 100


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4():
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:2") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key(None) == "?"
