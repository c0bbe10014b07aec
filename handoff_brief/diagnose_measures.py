"""The buyer's diagnostic, measured: one small record per checked handoff, and the sums.

A handoff is measured from the findings of `check`: what a rule finds is what a measure
counts (fit reasons without evidence, unsourced facts, stale evidence, vague or incomplete
next actions, unknown and flagged checks), so the report and `check` never disagree; the
rest (how many reasons, citations, checks, how old the evidence) is counted from the
handoff. A policy that turns a rule off keeps it out of the findings and the verdict, not
out of the measures: `measuring_policy` turns it back on as a warning, and `in_force` drops
it again, so one `check` call gives both.

`Diagnosis` is a whole delivery: the samples and what was set aside (invalid, duplicate,
suppressed); `diagnose.py` builds it, `diagnose_report.py` draws it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal, NamedTuple

from .check import RULE_HELP, RULES, Finding, check
from .hygiene import Record
from .model import Handoff
from .policy import DEFAULT_POLICY, Policy

GroupBy = Literal["prepared_by", "provider", "tier"]
GROUP_BY: tuple[GroupBy, ...] = ("prepared_by", "provider", "tier")
#: What a handoff without the grouping field is grouped as.
NO_GROUP = {"prepared_by": "(nobody)", "provider": "(no provider)", "tier": "(no tier)"}

#: Common disqualifier checks, each found in a check's name by any of its keywords (case,
#: hyphens and punctuation aside, whole words): "Do-not-contact and suppression lists" is
#: a do-not-contact check.
COMMON_CHECKS: dict[str, tuple[str, ...]] = {
    "existing customer": ("existing customer", "current customer", "already a customer",
                          "existing client", "current client"),
    "do-not-contact": ("do not contact", "dnc", "suppression", "opt out", "unsubscribed",
                       "blocklist"),
    "competitor": ("competitor", "competition"),
    "open opportunity": ("open opportunity", "open deal", "active opportunity", "in pipeline"),
}


class Found(NamedTuple):
    """One finding as the report keeps it."""

    rule: str
    level: str
    path: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One checked handoff: its findings, and what the measures count of it."""

    position: str
    id: str
    tier: str
    prepared_by: str
    provider: str | None
    findings: tuple[Found, ...]
    # why did this pass
    reasons: int
    reasons_citing: int  # reasons - fit-without-evidence
    citations: int  # distinct evidence ids cited, over all reasons
    reasons_inferred_only: int  # reasons whose cited facts that exist are all inferred
    # what was checked
    checks: int
    common: frozenset[str]
    checks_unknown: int  # disqualifier-unknown
    checks_flagged: int  # disqualifier-flagged
    # known vs inferred
    known: int
    known_sourced: int  # known - evidence-unsourced
    inferred: int
    inferred_complete: int  # inferred - inference-without-confidence
    ages: tuple[int, ...]  # days from each dated fact's checked_on to prepared_on
    stale: int  # stale-evidence
    # next step
    action_complete: bool  # no next-action-missing
    action_vague: bool  # next-action-vague
    due_days: int | None  # prepared_on -> next_action.due
    # for duplicates
    order: int = 0
    prepared_on: str = ""
    record: Record | None = None  # the normal forms duplicates are found by (hygiene)

    @property
    def errors(self) -> int:
        return sum(f.level == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def ready(self) -> bool:
        return self.errors == 0

    def group(self, by: GroupBy) -> str:
        return getattr(self, by) or NO_GROUP[by]


@dataclass(frozen=True)
class SetAside:
    """A handoff that was not measured: invalid, suppressed or a duplicate, and why."""

    position: str
    id: str | None
    #: Why, without the position (`line 4: prepared_on: must be a date ...`); a few at most.
    problems: tuple[str, ...]
    #: How many problems there are in all (an invalid handoff may have many).
    count: int = 1


def measuring_policy(policy: Policy) -> Policy:
    """`policy` with every rule it turns off back on as a warning: what the measures count."""
    if "off" not in policy.rules.values():
        return policy
    rules = {rule: "warning" if level == "off" else level for rule, level in policy.rules.items()}
    return Policy.model_validate({**policy.model_dump(), "rules": rules})


def in_force(measured: Iterable[Finding], policy: Policy) -> list[Finding]:
    """The findings of `check(handoff, policy=policy)`, from those under `measuring_policy`."""
    return [f for f in measured if policy.rules.get(f.rule) != "off"]


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.casefold())) + " "


_KEYWORDS = {name: tuple(_words(k) for k in keys) for name, keys in COMMON_CHECKS.items()}


def common_checks(names: Iterable[str]) -> frozenset[str]:
    """Which of `COMMON_CHECKS` the check names cover."""
    said = [_words(name) for name in names]
    return frozenset(common for common, keys in _KEYWORDS.items()
                     if any(key in text for key in keys for text in said))


def sample(handoff: Handoff, measured: Sequence[Finding], findings: Iterable[Found], *,
           position: str, order: int = 0) -> Sample:
    """What the measures count of one handoff: `measured` are its findings under the
    measuring policy, `findings` those in force (for the verdict)."""
    rules = Counter(f.rule for f in measured)
    by_id = handoff.evidence_by_id
    reasons = handoff.fit or []
    citations = inferred_only = 0
    for reason in reasons:
        ids = list(dict.fromkeys(reason.evidence))
        citations += len(ids)
        cited = [by_id[ref] for ref in ids if ref in by_id]
        inferred_only += bool(cited) and all(item.status == "inferred" for item in cited)
    evidence = handoff.evidence or []
    known = sum(item.status == "known" for item in evidence)
    checks = handoff.disqualifiers or []
    action = handoff.next_action
    return Sample(
        position=position, id=handoff.id, tier=handoff.tier, prepared_by=handoff.prepared_by,
        provider=handoff.provider, findings=tuple(findings),
        reasons=len(reasons), reasons_citing=len(reasons) - rules["fit-without-evidence"],
        citations=citations, reasons_inferred_only=inferred_only,
        checks=len(checks), common=common_checks(item.check for item in checks),
        checks_unknown=rules["disqualifier-unknown"],
        checks_flagged=rules["disqualifier-flagged"],
        known=known, known_sourced=known - rules["evidence-unsourced"],
        inferred=len(evidence) - known,
        inferred_complete=len(evidence) - known - rules["inference-without-confidence"],
        ages=tuple((handoff.prepared_on - item.checked_on).days for item in evidence
                   if item.checked_on),
        stale=rules["stale-evidence"],
        action_complete=not rules["next-action-missing"],
        action_vague=bool(rules["next-action-vague"]),
        due_days=(action.due - handoff.prepared_on).days if action and action.due else None,
        order=order, prepared_on=handoff.prepared_on.isoformat(),
        record=Record.of_handoff(handoff, ref=position))


#: What `measures` keeps of a sample: all but what a batch's entry has itself.
_OWN = ("position", "id", "findings", "order", "prepared_on", "record")
MEASURES = tuple(name for name in Sample.__dataclass_fields__ if name not in _OWN)


def measures(handoff: Handoff, measured: Sequence[Finding]) -> list[Any]:
    """What the measures count of one handoff, as JSON values in `MEASURES` order
    (`from_measures` reads them)."""
    counted = sample(handoff, measured, (), position="")
    data = {name: getattr(counted, name) for name in MEASURES}
    data["common"], data["ages"] = sorted(counted.common), list(counted.ages)
    return [data[name] for name in MEASURES]


def from_measures(values: Sequence[Any], findings: Iterable[Found], *, position: str,
                  id: str, order: int, prepared_on: str, record: Record | None) -> Sample:
    """The sample `measures` took apart, with a batch entry's own fields."""
    data = dict(zip(MEASURES, values, strict=True))
    data["common"], data["ages"] = frozenset(data["common"]), tuple(data["ages"])
    return Sample(position=position, id=id, findings=tuple(findings), order=order,
                  prepared_on=prepared_on, record=record, **data)


def measure_handoff(handoff: Handoff, policy: Policy, *, position: str, order: int = 0,
                    measuring: Policy | None = None) -> Sample:
    """Check `handoff` once and measure it; its findings are exactly `check`'s."""
    measured = check(handoff, policy=measuring or measuring_policy(policy))
    found = [Found(f.rule, f.level, f.path) for f in in_force(measured, policy)]
    return sample(handoff, measured, found, position=position, order=order)


# -- the whole delivery -------------------------------------------------------------------

@dataclass
class Diagnosis:
    """A delivery of handoffs, classified and measured."""

    samples: list[Sample]
    invalid: list[SetAside] = field(default_factory=list)
    duplicates: list[SetAside] = field(default_factory=list)
    suppressed: list[SetAside] = field(default_factory=list)
    by: GroupBy = "prepared_by"
    policy: str = DEFAULT_POLICY.name
    stale_after_days: int = DEFAULT_POLICY.stale_after_days
    #: Invalid handoffs counted but not listed (a batch keeps 20 of each kind of problem).
    invalid_not_listed: int = 0
    #: Handoffs that look like another one without being a duplicate by id or by website and
    #: e-mail (a similar company name, say). Nothing sets it yet: it is the hook for the
    #: hygiene checks, shown in the hygiene section.
    possible_duplicates: int = 0

    @property
    def invalid_count(self) -> int:
        return len(self.invalid) + self.invalid_not_listed

    @property
    def read(self) -> int:
        """Every handoff read: measured or set aside."""
        return (len(self.samples) + self.invalid_count + len(self.duplicates)
                + len(self.suppressed))

    def overall(self) -> Measures:
        return Measures.of(self.samples)

    def groups(self) -> list[tuple[str, Measures]]:
        """(group, its measures) for each group of `by`, worst first: the lowest readiness
        rate, then the most handoffs, then the name."""
        members: dict[str, list[Sample]] = {}
        for item in self.samples:
            members.setdefault(item.group(self.by), []).append(item)
        measured = [(name, Measures.of(items)) for name, items in members.items()]
        return sorted(measured, key=lambda g: (g[1].ready / g[1].handoffs, -g[1].handoffs, g[0]))

    def rules(self) -> list[RuleCount]:
        """Every rule that fired: handoffs with it, most first, then errors, then by the
        rule table's order."""
        handoffs: Counter[str] = Counter()
        times: Counter[str] = Counter()
        levels: dict[str, str] = {}
        for item in self.samples:
            for rule in {f.rule for f in item.findings}:
                handoffs[rule] += 1
            for f in item.findings:
                times[f.rule] += 1
                levels.setdefault(f.rule, f.level)
        order = list(RULES)
        counted = [RuleCount(rule, levels[rule], handoffs[rule], times[rule], RULE_HELP[rule][1])
                   for rule in handoffs]
        return sorted(counted, key=lambda r: (-r.handoffs, r.level != "error",
                                              order.index(r.rule)))

    def top_reasons(self, count: int = 3) -> list[tuple[str, int]]:
        """The error rules that keep the most handoffs from being ready, and how many each."""
        reasons: Counter[str] = Counter()
        for item in self.samples:
            reasons.update({f.rule for f in item.findings if f.level == "error"})
        order = list(RULES)
        return sorted(reasons.items(), key=lambda r: (-r[1], order.index(r[0])))[:count]

    def send_back(self) -> Iterator[Sample | SetAside]:
        """The handoffs to return, worst first: the invalid ones (they cannot be checked),
        then the not ready ones by errors, then warnings, then input order."""
        yield from self.invalid
        not_ready = [item for item in self.samples if not item.ready]
        yield from sorted(not_ready, key=lambda s: (-s.errors, -s.warnings, s.order))


class RuleCount(NamedTuple):
    rule: str
    level: str
    handoffs: int
    times: int
    fix: str


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def quantile(counts: Counter[int], q: float) -> int | None:
    """The value at quantile `q` (nearest rank) of the values counted in `counts`."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(round(q * total, 9)))  # round: 0.9 * 10 is 9.000000000000002
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)  # pragma: no cover - rank <= total


@dataclass(frozen=True)
class Measures:
    """The four questions, measured over some handoffs (sums; the rates are properties)."""

    handoffs: int
    ready: int
    reasons: int
    reasons_citing: int
    citations: int
    reasons_inferred_only: int
    checks: int
    common: dict[str, int]  # handoffs that ran each common check
    checks_unknown: int
    checks_flagged: int
    known: int
    known_sourced: int
    inferred: int
    inferred_complete: int
    ages: Counter[int]
    stale: int
    action_complete: int
    action_vague: int
    due_days: Counter[int]

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> Measures:
        sums = [0] * len(_SUMS)
        common: Counter[str] = Counter()
        ages: Counter[int] = Counter()
        due: Counter[int] = Counter()
        count = 0
        values = attrgetter(*_SUMS)
        for item in samples:
            count += 1
            sums = [total + int(value) for total, value in zip(sums, values(item), strict=True)]
            common.update(item.common)
            ages.update(item.ages)
            if item.due_days is not None:
                due[item.due_days] += 1
        return cls(handoffs=count, common={name: common[name] for name in COMMON_CHECKS},
                   ages=ages, due_days=due, **dict(zip(_SUMS, sums, strict=True)))

    @property
    def readiness(self) -> float | None:
        return _ratio(self.ready, self.handoffs)

    @property
    def reasons_per_handoff(self) -> float | None:
        return _ratio(self.reasons, self.handoffs)

    @property
    def citing_share(self) -> float | None:
        return _ratio(self.reasons_citing, self.reasons)

    @property
    def citations_per_reason(self) -> float | None:
        return _ratio(self.citations, self.reasons)

    @property
    def inferred_only_share(self) -> float | None:
        return _ratio(self.reasons_inferred_only, self.reasons)

    @property
    def checks_per_handoff(self) -> float | None:
        return _ratio(self.checks, self.handoffs)

    def common_share(self, name: str) -> float | None:
        return _ratio(self.common[name], self.handoffs)

    @property
    def unknown_rate(self) -> float | None:
        return _ratio(self.checks_unknown, self.checks)

    @property
    def flagged_rate(self) -> float | None:
        return _ratio(self.checks_flagged, self.checks)

    @property
    def sourced_share(self) -> float | None:
        return _ratio(self.known_sourced, self.known)

    @property
    def inferred_complete_share(self) -> float | None:
        return _ratio(self.inferred_complete, self.inferred)

    @property
    def dated(self) -> int:
        return sum(self.ages.values())

    @property
    def stale_share(self) -> float | None:
        return _ratio(self.stale, self.dated)

    @property
    def complete_share(self) -> float | None:
        return _ratio(self.action_complete, self.handoffs)

    @property
    def vague_share(self) -> float | None:
        return _ratio(self.action_vague, self.handoffs)


_SUMS = ("ready", "reasons", "reasons_citing", "citations", "reasons_inferred_only", "checks",
         "checks_unknown", "checks_flagged", "known", "known_sourced", "inferred",
         "inferred_complete", "stale", "action_complete", "action_vague")
