"""Parse files in child processes, so that no single input file can crash or hang the run.

libcst's native parser overflows its stack and kills the process (SIGSEGV) on deeply nested
input (2,000 nested brackets, 10,000 ``elif`` branches) and needs minutes for some valid but
pathological files (a 4,000-term ``1 + 1 + ...``), holding the GIL throughout, so neither an
exception handler nor a Python-level timer can stop it. Therefore:

* every parse runs in a forked worker process, never in the process that runs migrator;
* inside the worker the parser runs on a thread with a large stack, which gets it through
  nesting that would overflow the default 8 MB;
* each worker reports one result per file over a pipe, so the parent always knows which file
  a worker is on; a worker that dies costs only that file (a ``parser-crash`` diagnostic) and a
  worker that spends longer than ``time_limit`` seconds on one file is killed (a ``time-limit``
  diagnostic); a fresh worker takes over the rest of its batch.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from migrator.analysis import resident
from migrator.analysis.facts import ModuleFacts, WorkItem
from migrator.graph import Diagnostic

#: a progress callback: (files done, files to parse)
Progress = Callable[[int, int], None]

DEFAULT_TIME_LIMIT = 60.0  # seconds per file; a 2 MB file parses in about 3 s on one core
TIME_LIMIT_CODE = "time-limit"
CRASH_CODE = "parser-crash"
_STACK_SIZE = 512 * 1024 * 1024  # virtual; only the pages a deep parse touches are used
_BATCH_BYTES = 200_000
_BATCH_FILES = 32
_GUESS_WAIT = 30.0  # seconds for the first worker to say which files it guessed
_REPORT_WAIT = 5.0  # seconds for the zygote to report a worker's pid or how it ended


def failed_facts(item: WorkItem, code: str, message: str) -> ModuleFacts:
    """Facts for a file that could not be analysed: just the diagnostic."""
    facts = ModuleFacts(
        module=item.module,
        file=item.file,
        is_package=item.is_package,
        lines=item.data.count(b"\n"),
        sha=item.sha,
    )
    facts.diagnostics.append(Diagnostic(item.file, 1, code, message, "error"))
    return facts


_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"()[]{}")))
_STEP = {ord("("): 1, ord("["): 1, ord("{"): 1, ord(")"): -1, ord("]"): -1, ord("}"): -1}
MAX_NESTING = 200  # CPython's tokenizer refuses more nested brackets than this


def too_deep(item: WorkItem) -> ModuleFacts | None:
    """Facts with a syntax error for a file whose brackets nest deeper than CPython allows.

    libcst has no such limit and needs minutes (or crashes) on such files; CPython's own parser
    rejects them at once. The byte scan over-counts brackets in strings and comments, so a
    file over the limit is confirmed with ``compile`` before it is refused."""
    data = item.data
    depth = deepest = 0
    for b in data.translate(None, _NOT_BRACKETS):
        depth += _STEP[b]
        if depth > deepest:
            deepest = depth
            if deepest >= MAX_NESTING:
                break
    if deepest < MAX_NESTING:
        return None
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, item.file, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        if "nested" not in str(exc.msg):
            return None  # some other error: libcst reports it with its own message
        facts = failed_facts(
            item,
            "syntax-error",
            f"{exc.msg} (Python allows at most {MAX_NESTING - 1} nested brackets)",
        )
        facts.diagnostics[0] = Diagnostic(
            item.file, exc.lineno or 1, "syntax-error", facts.diagnostics[0].message, "error"
        )
        return facts
    except (RecursionError, MemoryError, ValueError):
        return None
    return None


def _analyse(item: WorkItem) -> ModuleFacts:
    from migrator.analysis.parse import analyse_source

    try:
        return too_deep(item) or analyse_source(item)
    except Exception as exc:  # a collector or plug-in bug: this file only
        return failed_facts(item, "internal-error", f"analyser failed: {type(exc).__name__}: {exc}")


def identity(item: WorkItem) -> tuple[Any, ...]:
    """Everything a file's facts depend on, its bytes stood in for by their hash."""
    return item.identity()


def _serve(conn: Connection, guessed: list[WorkItem]) -> None:
    """Worker: parse the ``guessed`` items, then receive batches of ``(index, item)`` and send
    back ``(index, facts)`` per file (a guessed item's facts at once)."""
    # the cyclic garbage collector scans every live object each time allocations pile up, and
    # a parse allocates hundreds of thousands (a fifth of the worker's time on Django); trees
    # are freed by reference counting, so one collection per batch keeps memory flat
    gc.freeze()
    gc.disable()
    ready = {identity(item): _analyse(item) for item in guessed}
    while True:
        gc.collect()
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        if isinstance(batch, tuple):  # ("linger", socket): stay for the next run (``resident``)
            resident.linger(batch[1], _session, conn)
            return
        for index, item in batch:
            facts = ready.pop(identity(item), None) or _analyse(item)
            try:
                conn.send((index, facts))
            except (OSError, ValueError):
                return


def _guess(guess: Callable[[], list[WorkItem]] | None) -> list[WorkItem]:
    """The items ``guess`` names; none when there is no guess or it fails (a guess only ever
    saves time)."""
    if guess is None:
        return []
    try:
        return guess()
    except Exception:
        return []


def _session(conn: Connection) -> None:
    """A resident parser serving one run: the run's guess first, then as ``_serve``."""
    guessed = _guess(conn.recv())
    conn.send([identity(item) for item in guessed])
    gc.unfreeze()  # the last run's leftovers may be collected; ``_serve`` freezes what lives
    _serve(conn, guessed)


def _worker_main(
    conn: Connection,
    warm: bool = False,
    guess: Callable[[], list[WorkItem]] | None = None,
    foreign: list[Connection] | tuple[()] = (),
    inherited: resident.Held | None = None,
) -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what to do about it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for other in foreign:  # the run's ends of the pipes, copied by the fork: see ``_foreign``
        other.close()
    resident.close_fds(inherited or {}, keep=[conn.fileno()])  # and all the run held
    guessed = _guess(guess)
    if guess is not None:  # first message: what this worker will parse before being asked
        try:
            conn.send([identity(item) for item in guessed])
        except (OSError, ValueError):
            return
    if warm:  # started before the parent loaded the parser: load it here, while waiting
        if guessed:  # the guessed files fill the caches; no time for a practice parse
            from migrator.analysis.parse import warm_up

            warm_up()
        else:
            _load_parser()  # the caches too: without, the first parse fills them more slowly
    threading.stack_size(_STACK_SIZE)
    thread = threading.Thread(target=_serve, args=(conn, guessed), name="migrator-parse")
    thread.start()
    thread.join()


def _zygote_main(
    control: Connection,
    conns: list[Connection],
    guess: Callable[[], list[WorkItem]] | None,
    foreign: list[Connection],
    inherited: resident.Held,
) -> None:
    """The zygote (see ``Parser``): load the parser, fork one worker per connection in
    ``conns`` (the first one with ``guess``), send their pids, then report how each one ends:
    ``(pid, exit code)``, the code as ``multiprocessing.Process.exitcode`` gives it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in foreign:
        other.close()
    resident.close_fds(inherited, keep=[control.fileno(), *(c.fileno() for c in conns)])
    _load_parser()
    pids = []
    for i, conn in enumerate(conns):
        pid = os.fork()
        if pid == 0:  # a worker: it keeps its own connection only, so its death is seen
            code = 1
            try:
                control.close()
                for other in conns:
                    if other is not conn:
                        other.close()
                _worker_main(conn, guess=guess if i == 0 else None)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for conn in conns:
        conn.close()
    try:
        control.send(pids)
        for _ in pids:
            pid, status = os.wait()
            control.send((pid, os.waitstatus_to_exitcode(status)))
    except OSError:
        pass  # the run is over: nobody listens any more


class _Zygote:
    """Parent side of ``_zygote_main``: the process, the workers' connections and what it
    reported so far."""

    def __init__(
        self,
        ctx: Any,
        workers: int,
        guess: Callable[[], list[WorkItem]] | None,
        foreign: list[Connection],
    ) -> None:
        pairs = [ctx.Pipe(duplex=True) for _ in range(workers)]
        self.control, child = ctx.Pipe(duplex=True)
        foreign = [*foreign, self.control, *(p for p, _ in pairs)]
        self.process = ctx.Process(
            target=_zygote_main,
            daemon=True,
            args=(child, [c for _, c in pairs], guess, foreign, resident.open_fds()),
        )
        self.process.start()
        child.close()
        for _, c in pairs:
            c.close()
        self.conns = [p for p, _ in pairs]
        self.pids: list[int] | None = None
        self.codes: dict[int, int] = {}
        self.gone = False  # it stopped reporting (all its workers ended, or it died)

    def report(self, timeout: float) -> bool:
        """Take one report, waiting at most ``timeout`` seconds; False when none came."""
        if self.gone:
            return False
        try:
            if not self.control.poll(timeout):
                return False
            message = self.control.recv()
        except (EOFError, OSError):
            self.gone = True
            return False
        if isinstance(message, list):
            self.pids = message
        else:
            self.codes[message[0]] = message[1]
        return True

    def close(self) -> None:
        """Stop it (its workers stop on their own: their connections close)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.control.close()


class _Forked:
    """The ``multiprocessing.Process`` face of a worker the zygote forked (not our child)."""

    sentinel = None  # its connection closing is how we learn that it died

    def __init__(self, zygote: _Zygote, index: int) -> None:
        self.zygote = zygote
        self.index = index

    @property
    def pid(self) -> int | None:
        z = self.zygote
        while z.pids is None and z.report(_REPORT_WAIT):
            pass
        return z.pids[self.index] if z.pids is not None else None

    @property
    def exitcode(self) -> int | None:
        while self.zygote.report(0):
            pass
        return self.zygote.codes.get(self.pid)  # type: ignore[arg-type]

    def is_alive(self) -> bool:
        pid = self.pid
        if pid is None or self.exitcode is not None:
            return False
        if not self.zygote.gone:
            return True
        try:  # the zygote died before it: its workers went to init, ask the system
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        if self.is_alive():
            try:
                os.kill(self.pid, signal.SIGKILL)  # type: ignore[arg-type]
            except OSError:
                pass

    def stop(self) -> None:
        """Kill it and see it reaped, if the zygote has said it exists; without waiting for
        the zygote to say so: a zygote still loading the parser has forked nothing, and is
        killed next."""
        while self.zygote.report(0):
            pass
        if self.zygote.pids is not None:
            self.kill()
            self.join()

    def join(self, timeout: float = _REPORT_WAIT) -> None:
        """Wait (a bounded time) for the zygote to report how it ended."""
        deadline = time.monotonic() + timeout
        while self.is_alive() and self.zygote.report(max(0.0, deadline - time.monotonic())):
            pass


@dataclass
class _Worker:
    process: Any  # a multiprocessing.Process, or a ``resident.Remote``
    conn: Connection
    pending: deque[int] = field(default_factory=deque)
    since: float = 0.0  # when the worker started on pending[0]
    guessing: bool = False  # parsed files it guessed before being asked: order unknown


def _batches(items: list[WorkItem], skip: frozenset[int] = frozenset()) -> deque[list[int]]:
    """Indices (but ``skip``) grouped into batches, biggest files first (so no straggler
    finishes last)."""
    order = sorted(
        (i for i in range(len(items)) if i not in skip),
        key=lambda i: (-len(items[i][4]), items[i][0]),
    )
    out: deque[list[int]] = deque()
    batch: list[int] = []
    size = 0
    for i in order:
        batch.append(i)
        size += len(items[i][4]) + 2000
        if size >= _BATCH_BYTES or len(batch) >= _BATCH_FILES:
            out.append(batch)
            batch, size = [], 0
    if batch:
        out.append(batch)
    return out


_WARM_SOURCE = b'''"""Every common node type, so that per-type caches are filled before workers fork."""
from __future__ import annotations
import os.path as osp
from package import sibling
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    import typing
try:
    import json
except ImportError:
    json = None
X: int = 1
Y = [i for i in range(3) if i] + list({k: v for k, v in {}.items()}) + [*(j for j in ())]
@decorator(arg=1)
class Model(Base, metaclass=Meta):
    __tablename__ = "models"
    name: str = field(default="")
    async def method(self, *args, key=None, **kwargs) -> dict[str, int]:
        async with lock as held:
            async for item in stream():
                await item
        with open(osp.join("a", f"{X!r:>{Y}}")) as fh:
            del fh
        while X > 1 or not Y and X is not None:
            X += -1 if X else ~X
            break
        return {"a": lambda q: q[1:2, ::3], **kwargs}
def function(a, /, b=2, *, c) -> None:
    global X
    assert a, "message"
    raise ValueError("x") from None
match X:
    case [1, *rest] | {"k": _} if rest:
        pass
'''
_warmed = False


def _load_parser() -> None:
    """Import libcst and the plug-ins, then parse and collect one varied module in this process
    (once), so that the collector's per-node-type caches (built with ``inspect``) are filled
    before the first real file, and inherited by every worker forked afterwards instead of
    rebuilt in each."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    from migrator.analysis import parse

    parse.warm_up()
    try:
        parse.analyse_source(WorkItem("warm.py", "warm", False, "0" * 64, _WARM_SOURCE, True))
    except Exception:
        pass


def _signal_name(code: int | None) -> str:
    if code is None:
        return "unknown status"
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


class Parser:
    """Up to ``jobs`` worker processes that turn work items into facts.

    ``Parser(jobs, prestart=1)`` forks its first worker at once, before the parent has even
    imported libcst: it loads the parser (a fifth of a second) while the parent discovers and
    hashes files, for a run after an edit. ``prestart=N`` (a run that will parse everything) forks
    a zygote process that loads the parser and forks the N workers, which inherit it: one load
    instead of N, made while this process prepares for their results on another core.
    With ``guess`` (``cache.Guess.items``) the first of them also starts parsing the files
    that probably changed, before the parent knows which ones did: a run after an edit then
    finds the edited file's facts ready or nearly so. With ``resident_at``
    (``resident.address``) the first worker is the resident parser listening there, which
    has libcst loaded already; when there is none, the first worker forked is asked to stay
    there for the next run when this one closes. ``submit`` hands out work and returns;
    ``results`` waits for it."""

    def __init__(
        self,
        jobs: int,
        progress: Progress | None = None,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        prestart: int = 0,
        guess: Callable[[], list[WorkItem]] | None = None,
        resident_at: str | None = None,
    ) -> None:
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("fork" if "fork" in methods else None)
        self.jobs = max(1, jobs)
        self.progress = progress
        self.limit = time_limit if time_limit and time_limit > 0 else None
        self.items: list[WorkItem] = []
        self.queue: deque[list[int]] = deque()
        self.done: dict[int, ModuleFacts] = {}
        self.workers: list[_Worker] = []
        self.guessed = 0  # submitted items the first worker had guessed (and started on)
        self.resident = False  # the first worker is a resident parser (``resident``)
        self._first: _Worker | None = None
        self._linger: str | None = None
        self._zygote: _Zygote | None = None
        if not prestart:
            return
        found = resident.connect(resident_at) if resident_at else None
        if found is not None:  # it always answers with its guess, if only []
            self._first = _Worker(found[0], found[1], guessing=True)
            self.resident = True
            self.workers.append(self._first)
            try:
                found[1].send(guess)
            except (OSError, ValueError):
                pass  # gone: ``_guessed`` finds no answer and hands its items on
        count = min(prestart, self.jobs) - len(self.workers)
        if count <= 0:
            return
        if self.resident:
            guess = None  # the resident guesses
        if prestart == 1:
            forked = [self._start(warm=True, guess=guess)]
        elif hasattr(os, "fork"):  # a first run: the zygote loads the parser once, forks all
            self._zygote = _Zygote(self._ctx, count, guess, self._foreign())
            forked = [
                _Worker(_Forked(self._zygote, i), conn) for i, conn in enumerate(self._zygote.conns)
            ]
        else:
            forked = [self._start(guess=guess)] + [self._start() for _ in range(count - 1)]
        if not self.resident:
            self._first = forked[0]
            self._first.guessing = guess is not None
            self._linger = resident_at
        self.workers.extend(forked)

    def __enter__(self) -> Parser:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        if kind is not None:  # interrupted or failed: leave nothing running
            self._linger = None
        self.close()

    def _start(
        self, warm: bool = False, guess: Callable[[], list[WorkItem]] | None = None
    ) -> _Worker:
        if not warm:
            _load_parser()  # once, before forking: every worker inherits it
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            daemon=True,
            args=(child, warm, guess, [parent, *self._foreign()], resident.open_fds()),
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    def _foreign(self) -> list[Connection]:
        """This process's ends of its pipes and sockets to its parser processes. A process
        forked from here gets copies of them and must close them at once: while any process
        but this one holds them, a worker waiting for work never sees them close, so a run
        killed outright (no handler runs on SIGKILL) would leave its workers waiting forever,
        and holding the run's output pipe open."""
        return [w.conn for w in self.workers] + (
            [self._zygote.control] if self._zygote is not None else []
        )

    def _give(self, w: _Worker, batch: list[int] | None = None) -> None:
        batch = self.queue.popleft() if batch is None else batch
        w.pending.extend(batch)
        w.since = time.monotonic()
        try:
            w.conn.send([(i, self.items[i]) for i in batch])
        except (OSError, ValueError):
            pass  # it died: ``results`` sees its sentinel and hands the batch on

    def _hand_out(self) -> None:
        """Idle workers first, then new workers up to ``jobs``."""
        for w in self.workers:
            if not w.pending and self.queue:
                self._give(w)
        while self.queue and len(self.workers) < self.jobs:
            w = self._start()
            self.workers.append(w)
            self._give(w)

    def submit(self, items: list[WorkItem]) -> None:
        """Start parsing ``items`` (one ``submit`` per parser). Returns once a guessing first
        worker has said what it guessed (so it has read the last run's record: it may be replaced)."""
        self.items = list(items)
        guessed = self._guessed()
        self.queue = _batches(self.items, skip=frozenset(guessed))
        if guessed:
            self.guessed = len(guessed)
            self._give(self._first, guessed)  # type: ignore[arg-type]
        self._hand_out()

    def _guessed(self) -> list[int]:
        """The indices of the items the first worker guessed (it has them, or will soon);
        when it guessed anything that was not submitted, it is stopped instead: its time is
        better spent on the files that are needed."""
        w = self._first
        if w is None or w not in self.workers or not w.guessing:
            return []
        try:
            # sent before the worker does anything slow; a worker that cannot even say is
            # stuck or dead, and the items go to the others
            guessed = w.conn.recv() if w.conn.poll(_GUESS_WAIT) else None
        except (EOFError, OSError):
            guessed = None
        index = {identity(item): i for i, item in enumerate(self.items)}
        if not isinstance(guessed, list) or any(g not in index for g in guessed):
            if isinstance(w.process, resident.Remote) and guessed is not None:
                w.conn.close()  # a resident is fine: it goes back to waiting for runs
                self.workers.remove(w)
            else:
                self._retire(w, "", "")
            return []
        if not guessed:
            w.guessing = False  # an ordinary worker from now on
        return [index[g] for g in guessed]

    def _record(self, index: int, facts: ModuleFacts) -> None:
        self.done[index] = facts
        if self.progress:
            self.progress(len(self.done), len(self.items))

    def _drain(self, w: _Worker) -> None:
        """Collect what a worker sent before it stopped."""
        try:
            while w.pending and w.conn.poll():
                index, facts = w.conn.recv()
                w.pending.remove(index)
                self._record(index, facts)
        except (EOFError, OSError):
            pass

    def _retire(self, w: _Worker, code: str, message: str) -> None:
        """Stop ``w``; its current file gets a diagnostic, the rest of its batch is requeued."""
        if w.process.is_alive():
            w.process.kill()
        w.process.join()
        w.conn.close()
        self.workers.remove(w)
        if w.guessing and w.pending:  # which file it was on is unknown: all go to a new worker
            self.queue.appendleft(list(w.pending))
            w.pending.clear()
        if w.pending:
            culprit = w.pending.popleft()
            self._record(culprit, failed_facts(self.items[culprit], code, message))
            if w.pending:
                self.queue.appendleft(list(w.pending))

    def results(self) -> list[ModuleFacts]:
        """Facts for every submitted item, in input order."""
        limit = self.limit
        while self.queue or any(w.pending for w in self.workers):
            self._hand_out()
            busy = [w for w in self.workers if w.pending]
            timeout = None
            if limit is not None and busy:
                now = time.monotonic()
                timeout = max(0.0, min(w.since + limit - now for w in busy))
            handles: list[Any] = [w.conn for w in busy] + [
                w.process.sentinel for w in busy if w.process.sentinel is not None
            ]
            ready = set(wait(handles, timeout))
            now = time.monotonic()
            for w in list(busy):
                died = w.process.sentinel in ready
                if w.conn in ready:
                    try:
                        index, facts = w.conn.recv()
                    except (EOFError, OSError):
                        died = True
                    else:
                        w.pending.remove(index)
                        self._record(index, facts)
                        w.since = now
                        continue
                if died:
                    self._drain(w)
                    w.process.join(_REPORT_WAIT)  # bounded: a closed pipe is no proof of death
                    self._retire(
                        w,
                        CRASH_CODE,
                        "the parser process died on this file "
                        f"({_signal_name(w.process.exitcode)}); file skipped",
                    )
                elif limit is not None and w.pending and now - w.since >= limit:
                    self._drain(w)
                    if w.pending and time.monotonic() - w.since >= limit:
                        self._retire(
                            w,
                            TIME_LIMIT_CODE,
                            "parsing took longer than the time "
                            f"limit of {limit:g} s (--file-time-limit); file skipped",
                        )
        return [self.done[i] for i in range(len(self.items))]

    def close(self) -> None:
        """Stop every worker at once: they hold nothing worth a polite goodbye, and a worker
        started before discovery may still be loading the parser, which nobody should wait for. A
        resident parser's session just ends; an idle first worker is asked to linger as the
        next resident (see ``resident``) when ``resident_at`` named a socket that had none."""
        for w in self.workers:
            if isinstance(w.process, resident.Remote):
                w.conn.close()
                continue
            if w is self._first and self._linger and not w.pending and w.process.is_alive():
                try:
                    w.conn.send(("linger", self._linger))
                    w.conn.close()
                    continue
                except (OSError, ValueError):
                    pass
            if isinstance(w.process, _Forked):
                w.process.stop()
            else:
                if w.process.is_alive():
                    w.process.kill()
                w.process.join()
            w.conn.close()
        self.workers = []
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None


def parse_isolated(
    items: list[WorkItem],
    jobs: int,
    progress: Progress | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> list[ModuleFacts]:
    """Facts for every item (in input order), parsed by up to ``jobs`` worker processes."""
    if not items:
        return []
    with Parser(jobs, progress, time_limit) as parser:
        parser.submit(items)
        return parser.results()


__all__ = [
    "CRASH_CODE",
    "DEFAULT_TIME_LIMIT",
    "TIME_LIMIT_CODE",
    "Parser",
    "failed_facts",
    "parse_isolated",
]
