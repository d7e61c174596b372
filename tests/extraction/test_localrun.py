"""Local runs of extracted services: the pieces that need no service to test."""

from __future__ import annotations

import pytest

from migrator.extraction import localrun


def test_free_port_never_hands_out_a_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel may offer the same free port to two binds in a row (it did, in CI: catalog
    and checkout got one port, and checkout's URL answered with catalog)."""
    offered = iter([41000, 41000, 41001, 41000, 41002])

    class Socket:
        def __enter__(self) -> Socket:
            self.port = next(offered)
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def bind(self, address: tuple[str, int]) -> None:
            assert address == ("127.0.0.1", 0)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(localrun, "_HANDED_OUT", set())
    monkeypatch.setattr(localrun, "_unpicked_ports", lambda: range(0))  # the kernel picks
    monkeypatch.setattr(localrun.socket, "socket", Socket)
    assert [localrun.free_port() for _ in range(3)] == [41000, 41001, 41002]


def test_free_ports_are_ones_the_kernel_never_picks_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the ephemeral range, so that no bind to port 0 and no outgoing connection takes a
    port between ``free_port()`` and the service's own bind; one in use is passed over."""
    import socket

    unpicked = localrun._unpicked_ports()
    if not unpicked:
        pytest.skip("this machine's ephemeral range leaves no port below it")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        busy = taken.getsockname()[1]
        offered = iter([busy, unpicked[0], unpicked[1]])
        monkeypatch.setattr(localrun, "_HANDED_OUT", set())
        monkeypatch.setattr(localrun, "_unpicked_ports", lambda: range(busy, busy + 1))
        monkeypatch.setattr(localrun.secrets, "choice", lambda seq: next(offered))
        assert localrun.free_port() == unpicked[0]  # the busy port was passed over
    finally:
        taken.close()
    monkeypatch.undo()
    ports = [localrun.free_port() for _ in range(20)]
    assert all(p in unpicked for p in ports)


def test_free_ports_are_bindable_and_distinct() -> None:
    import socket

    ports = [localrun.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))
