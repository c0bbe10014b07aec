"""Hygiene: the normal forms and the matching that de-duplication and suppression share.

`normal` turns domains, e-mail addresses and company names into one spelling each; `match`
says which records are the same account (exact keys) or may be (similar names, found through
blocking, never by comparing all pairs). Batches, suppression lists and the service import
from here.
"""

from .match import (
    MAX_BLOCK,
    SIMILARITY,
    TYPOS,
    Blocker,
    CompanyIndex,
    ExactKey,
    Match,
    Record,
    alike,
    differing,
    edits,
    find_similar,
    score,
    similarity,
    sound,
)
from .normal import canonical_email, company_words, normal_company, registrable_domain

__all__ = [
    "MAX_BLOCK", "SIMILARITY", "TYPOS", "Blocker", "CompanyIndex", "ExactKey", "Match",
    "Record", "alike", "canonical_email", "company_words", "differing", "edits",
    "find_similar", "normal_company",
    "registrable_domain", "score", "similarity", "sound",
]
