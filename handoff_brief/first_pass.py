"""A batch's first pass: every handoff read, validated and checked once, into the little the
batch classifies it by, on the batch's workers in chunks.

The inputs are cut into units, read as raw bytes by the batch's process: a line of a JSON
Lines file, a document of a YAML stream (cut at its `---` lines where that is safe: see
`inputs.yaml_pieces`), an item of a JSON list, or a whole YAML or JSON file. A unit's key
is a hash of those bytes, its position and the batch's settings; what a unit was checked
into is kept in an index in the output folder, so a unit seen before is recognised by its
key alone, neither parsed nor validated again. The rest goes to the workers in chunks, and
comes back as `checked` dicts (JSON values, as the index keeps them): the position, the
status `invalid` with its errors, or the id, tier, findings, readiness, the normal forms
duplicates and suppressions are matched by (`hygiene.Record`), the primary e-mails, the key
of the brief (what pass two renders by) and the diagnostic's measures. A YAML stream or a
JSON list one of whose documents has a problem of YAML or JSON itself is read whole
instead, in the batch's process, so that a broken file is reported exactly as every other
command reports it.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import __version__
from .brief import Brief
from .check import PAGE_BUDGET, check
from .diagnose_measures import measures, measuring_policy
from .errors import InvalidHandoff
from .hygiene import Record
from .inputs import (
    Document,
    Found,
    is_json_lines,
    json_line,
    json_piece,
    json_pieces,
    parse_documents,
    positioned,
    read_whole,
    yaml_piece,
    yaml_pieces,
)
from .outputs import ensure_folder, write_output
from .policy import Policy

#: Ids whose briefs would take the place of the batch's own report files.
RESERVED_IDS = ("report",)
#: A chunk is sent once it holds this many units, or this many bytes.
CHUNK_UNITS = 100
CHUNK_BYTES = 1 << 20
#: The index of units checked, in the state folder; a new version starts it afresh.
INDEX_NAME = "checked.json"
INDEX_VERSION = 1
#: Files read as YAML streams, and so cut into their documents.
YAML_SUFFIXES = (".yaml", ".yml")
#: Files read as JSON, and so cut into their items when they hold a list.
JSON_SUFFIX = ".json"

#: What a unit was checked into: its handoffs; None for a piece of a YAML stream or a JSON
#: list that must be read with its whole file.
Outcome = list["Checked"] | None
#: Sends a chunk to a worker: `check_chunk(units, setup)` there; None when there is no pool.
Submit = Callable[[list["Unit"], "Setup"], "Future[list[Outcome]]"]


class Checked(NamedTuple):
    """One handoff as pass one checked it; JSON keeps it as a list (`Checked(*values)`)."""

    file: str
    position: str
    id: str | None  # the id the data claims, when invalid
    #: Why it is invalid (each problem with its position); None when it is valid.
    errors: list[str] | None = None
    tier: str = ""
    findings: list[dict[str, str]] = []  # noqa: RUF012  never changed in place
    ready: bool = False
    prepared_on: str = ""
    record: list[str | None] = []  # noqa: RUF012  `Record.values()`
    emails: list[str] = []  # noqa: RUF012  the contacts' addresses, for suppression lists
    key: str = ""  # the brief's key (`brief_key`)
    measures: list[Any] = []  # noqa: RUF012  the diagnostic's (`diagnose_measures.measures`)


@dataclass(frozen=True)
class Unit:
    """What the batch's process reads of an input: a line of a JSON Lines file (`position`
    set), a document of a YAML stream (`before` set), an item of a JSON list (`item` and
    `before` set), a whole file, or what is wrong with it (`problem`)."""

    file: str
    position: str | None
    raw: bytes = b""
    problem: str | None = None
    #: A piece of a YAML stream or a JSON list (`inputs.yaml_pieces`, `inputs.json_pieces`):
    #: the lines of the file before it.
    before: int | None = None
    #: An item of a JSON list: its index.
    item: int | None = None


@dataclass(frozen=True)
class Stream:
    """A YAML file of several documents or a JSON list, cut into them (`pieces`); `whole` is
    the file as one unit, read instead when a piece has a problem of YAML or JSON itself."""

    whole: Unit
    pieces: list[Unit]


@dataclass(frozen=True)
class Setup:
    """What checking a unit needs: sent with every chunk."""

    #: The batch's settings (version, templates, styles, brand, formats, draft).
    settings: str
    policy: Policy

    @property
    def digest(self) -> str:
        """What a unit's key takes of the settings: all that its checks and brief depend on."""
        return f"{__version__}|{self.settings}|{self.policy.digest}"


def units(found: Iterable[Found]) -> Iterator[Unit | Stream]:
    """Every unit of every input, in order; JSON Lines streamed, blank lines passed over,
    YAML streams and JSON lists cut into their documents."""
    for entry in found:
        if entry.problem is None and not entry.regular:
            yield Unit(entry.name, None, problem="is a stream (stdin or a pipe), which a batch "
                                                 "cannot read twice; save it to a file")
        elif entry.problem is not None:
            yield Unit(entry.name, None, problem=entry.problem)
        elif is_json_lines(entry.name):
            yield from line_units(entry.name)
        else:
            raw = read_whole(entry.name)
            if isinstance(raw, str):
                yield Unit(entry.name, None, problem=raw)
                continue
            whole = Unit(entry.name, None, raw)
            pieces = cut(entry.name, raw)
            yield whole if pieces is None else Stream(whole, pieces)


def cut(name: str, raw: bytes) -> list[Unit] | None:
    """The documents of the YAML stream or the items of the JSON list `raw` (the bytes of the
    file `name`) as units; None when it is read whole."""
    suffix = Path(name).suffix.lower()
    if suffix in YAML_SUFFIXES:
        pieces = yaml_pieces(raw)
        return None if pieces is None else [Unit(name, None, piece, before=before)
                                            for before, piece in pieces]
    if suffix == JSON_SUFFIX:
        pieces = json_pieces(raw)
        return None if pieces is None else [Unit(name, None, piece, before=before, item=item)
                                            for item, (before, piece) in enumerate(pieces)]
    return None


def line_units(name: str) -> Iterator[Unit]:
    """Each line of the JSON Lines file `name` that is not blank."""
    try:
        handle = open(name, "rb")  # noqa: SIM115  closed below, while streaming
    except OSError as error:
        yield Unit(name, None, problem=f"cannot be read ({error.strerror})")
        return
    with handle:
        for position, line in positioned(handle, name):
            yield Unit(name, position, line)


def unit_key(digest: str, unit: Unit) -> str:
    """What a unit is checked from: the settings' digest, where it is, its bytes."""
    place = unit.position or _piece_place(unit)
    where = f"{digest}\0{unit.file}\0{place}\0".encode()
    return hashlib.sha256(where + unit.raw).hexdigest()


def _piece_place(unit: Unit) -> str:
    """Where a piece of a file is: its lines before, and its index in a JSON list."""
    if unit.before is None:
        return ""
    return f"@{unit.before}" + ("" if unit.item is None else f"[{unit.item}]")


# -- on a worker --------------------------------------------------------------------------

def check_chunk(chunk: list[Unit], setup: Setup) -> list[Outcome]:
    """Each unit of `chunk` checked: a list per unit, of one `Checked` per handoff in it
    (None for a piece of a YAML stream or a JSON list to read whole)."""
    return [check_unit(unit, setup) for unit in chunk]


def check_unit(unit: Unit, setup: Setup) -> Outcome:
    if unit.problem is not None:
        return [_invalid(unit.file, unit.file, [f"{unit.file}: {unit.problem}"], None)]
    if unit.item is not None and unit.before is not None:
        item = json_piece(unit.raw, unit.file, unit.item, unit.before)
        return None if item is None else [check_document(item, setup)]
    if unit.before is not None:
        read = yaml_piece(unit.raw, unit.file, unit.before)
        return None if read is None else [check_document(document, setup) for document in read]
    if unit.position is not None:
        documents: Iterable[Document] = [json_line(unit.raw, unit.file, unit.position)]
    else:
        documents = parse_documents(unit.raw, unit.file, Path(unit.file).suffix.lower())
    return [check_document(document, setup) for document in documents]


def check_document(document: Document, setup: Setup) -> Checked:
    """One handoff checked, as pass one keeps it."""
    try:
        handoff = document.validate()
    except InvalidHandoff as error:
        shown, more = error.shown()
        return _invalid(document.file, document.position,
                        [str(problem) for problem in shown] + ([more] if more else []),
                        document.claimed_id)
    if handoff.id in RESERVED_IDS:
        return _invalid(document.file, document.position,
                        [f"{document.position}: id: {handoff.id!r} is the name of the batch's "
                         "own report (report.md, report.json); give the handoff another id"],
                        handoff.id)
    brief = Brief(handoff, source=document.position, policy=setup.policy)
    measuring = measuring_policy(setup.policy)
    measured = brief.checked if measuring is setup.policy else check(handoff, policy=measuring)
    return Checked(document.file, document.position, handoff.id, None, handoff.tier,
                   [f.as_dict() for f in brief.findings], brief.ready,
                   handoff.prepared_on.isoformat(), Record.of_handoff(handoff).values(),
                   [contact.email for contact in handoff.contacts if contact.email],
                   brief_key(setup.settings, brief), measures(handoff, measured))


def brief_key(settings: str, brief: Brief) -> str:
    """What a brief is made from: the settings, the validated handoff, and what the policy
    decides of it that the brief shows (the verdict, the blocking findings, the page budget).
    A policy change re-checks every handoff but renders again only the briefs it changes.
    Pass two renders a handoff only when its key is still the one pass one classified."""
    policy, tier = brief.policy, brief.handoff.tier
    blocking = [f.as_dict() for f in brief.checked if f.level == "error"]
    # The page budget's finding is stored with the brief and names a policy that set it.
    pages: list[object] = [policy.budget(tier), policy.rules.get("over-page-budget")]
    if pages != [PAGE_BUDGET[tier], None]:
        pages.append(policy.name)
    verdict = json.dumps([blocking, pages])
    content = brief.handoff.model_dump_json(by_alias=True)
    return hashlib.sha256("\n".join([settings, verdict, content]).encode()).hexdigest()


def _invalid(file: str, position: str, errors: list[str], claimed: str | None) -> Checked:
    return Checked(file, position, claimed, errors)


# -- in the batch's process ---------------------------------------------------------------

class Index:
    """What the last run into this output folder checked, by unit key, and the stamps of the
    briefs it made, by id (`batch` reads a stamp here before its file). `save` keeps this
    run's: the index holds no more than the inputs of one run."""

    def __init__(self, path: Path, known: dict[str, list[Any]],
                 stamps: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self.known = known
        self.seen: dict[str, list[Any]] = {}
        self.stamps = stamps
        self._changed = False

    @classmethod
    def load(cls, folder: Path, *, fresh: bool = False) -> Index:
        """The index in `folder`; empty when `fresh`, absent, unreadable or of another
        version (then every unit is checked again, nothing is lost)."""
        path = folder / INDEX_NAME
        if not fresh:
            try:
                data = json.loads(path.read_bytes())
                if (data.get("version") == INDEX_VERSION and isinstance(data["units"], dict)
                        and isinstance(data["stamps"], dict)):
                    return cls(path, data["units"], data["stamps"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass
        return cls(path, {}, {})

    def get(self, key: str) -> list[Checked] | None:
        """The handoffs of the unit `key`, when it was checked before."""
        found = self.known.get(key)
        if found is None:
            return None
        try:
            checked = [Checked(*values) for values in found]
        except TypeError:  # not what this version writes: checked again
            return None
        self.seen[key] = found
        return checked

    def add(self, key: str, checked: list[Checked]) -> None:
        self.seen[key] = checked
        self._changed = True

    def stamp(self, handoff_id: str) -> dict[str, Any] | None:
        return self.stamps.get(handoff_id)

    def set_stamp(self, handoff_id: str, stamp: dict[str, Any]) -> None:
        if self.stamps.get(handoff_id) != stamp:
            self.stamps[handoff_id] = stamp
            self._changed = True

    def save(self) -> None:
        """Written when it changed: units checked anew, or left out, or new stamps."""
        if not self._changed and self.seen.keys() == self.known.keys():
            return
        ensure_folder(self.path.parent)
        text = json.dumps({"version": INDEX_VERSION, "units": self.seen,
                           "stamps": self.stamps}, separators=(",", ":"), ensure_ascii=False)
        write_output(self.path, text.encode("utf-8"))
        self.known, self._changed = dict(self.seen), False


def first_pass(found: Iterable[Found], setup: Setup, index: Index,
               submit: Callable[[], Submit | None], *, ahead: int = 4) -> Iterator[Checked]:
    """Every handoff of `found` checked, in input order: from `index` when its unit is known,
    else in chunks through `submit()` (asked once a first chunk is full; None: here), at
    most `ahead` chunks in flight. A chunk whose worker fails is checked here instead."""
    digest = setup.digest
    # Slots in input order: a `_Slot`, or the `_Slot`s of the pieces of a cut file with the
    # file as one unit, read instead when a piece cannot be read alone.
    slots: deque[tuple[_Slot | list[_Slot], Unit | None]] = deque()
    ticket = _Ticket()
    sender: Submit | None = None
    asked = False
    in_flight = 0

    def send(last: bool) -> None:
        nonlocal ticket, sender, asked, in_flight
        if not asked and not last:  # a pool only once there is more than one chunk
            sender, asked = submit(), True
        ticket.future = sender(ticket.units, setup) if sender is not None else None
        ticket.sent = True
        in_flight += ticket.future is not None
        ticket = _Ticket()

    def place(unit: Unit) -> _Slot:
        key = unit_key(digest, unit)
        known = index.get(key)
        if known is not None:
            return _Slot(key, known, fresh=False)
        slot = _Slot(key, ticket=ticket, place=len(ticket.units))
        ticket.units.append(unit)
        ticket.size += len(unit.raw)
        if len(ticket.units) >= CHUNK_UNITS or ticket.size >= CHUNK_BYTES:
            send(last=False)
        return slot

    def outcome(slot: _Slot, wait: bool) -> Outcome | _Pending:
        nonlocal in_flight
        held = slot.ticket
        if held is None:
            return slot.checked
        if held.results is None:
            future = held.future
            if not held.sent or (future is not None and not wait and not future.done()):
                return PENDING
            held.results = _result(future, held.units, setup)
            held.units = []
            in_flight -= future is not None
        return held.results[slot.place]

    def take(head: tuple[_Slot | list[_Slot], Unit | None],
             wait: bool) -> list[Checked] | _Pending:
        """The head's handoffs, kept in the index; PENDING while a chunk is out."""
        held, whole = head
        group = held if isinstance(held, list) else [held]
        outcomes = [outcome(slot, wait) for slot in group]
        if any(isinstance(found, _Pending) for found in outcomes):
            return PENDING
        if whole is not None and any(found is None for found in outcomes):
            checked = check_unit(whole, setup) or []  # a broken file: read whole, here
            index.add(unit_key(digest, whole), checked)
            return checked
        taken: list[Checked] = []
        for slot, found in zip(group, outcomes, strict=True):
            assert isinstance(found, list)
            if slot.fresh:
                index.add(slot.key, found)
            taken += found
        return taken

    def drain(wait: bool) -> Iterator[Checked]:
        while slots:
            checked = take(slots[0], wait or in_flight > ahead)
            if isinstance(checked, _Pending):
                return
            slots.popleft()
            yield from checked

    for unit in units(found):
        if isinstance(unit, Stream):
            whole_key = unit_key(digest, unit.whole)
            known_whole = index.get(whole_key)  # a file that was read whole before
            if known_whole is not None:
                slots.append((_Slot(whole_key, known_whole, fresh=False), None))
            else:
                slots.append(([place(piece) for piece in unit.pieces], unit.whole))
        elif unit.problem is not None:  # nothing to key: never kept
            slots.append((_Slot("", check_unit(unit, setup), fresh=False), None))
        else:
            slots.append((place(unit), None))
        yield from drain(wait=False)
    if ticket.units:
        send(last=True)
    yield from drain(wait=True)


class _Pending:
    """A chunk's results not in yet."""


PENDING = _Pending()


@dataclass
class _Ticket:
    """A chunk: its units until it is sent and answered, then what they were checked into."""

    units: list[Unit] = field(default_factory=list)
    size: int = 0
    sent: bool = False
    future: Future[list[Outcome]] | None = None
    results: list[Outcome] | None = None


@dataclass
class _Slot:
    """A unit in input order: what it was checked into, known (`checked`), or its place in a
    chunk. `fresh`: checked in this run, to be kept in the index."""

    key: str
    checked: Outcome = None
    fresh: bool = True
    ticket: _Ticket | None = None
    place: int = 0


def _result(future: Future[list[Outcome]] | None, chunk: list[Unit],
            setup: Setup) -> list[Outcome]:
    """A chunk's results; checked here when there is no pool, or its worker failed."""
    if future is not None:
        try:
            return future.result()
        except Exception:  # noqa: BLE001  a worker that died or overran: read here instead
            pass
    return check_chunk(chunk, setup)
