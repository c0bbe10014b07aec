"""A commented starter handoff for a tier: every field, with what it is for.

It loads (so `check` can say what is missing) and is not ready until it is filled in: the
next action has no due date and cites nothing, and the placeholders say what to write.
"""

from __future__ import annotations

import datetime as dt

from .choices import Tier

_COMMON = """\
# A {tier} handoff for handoff-brief. Fill in every TODO, then run:
#   handoff-brief check {file}
# Dates are YYYY-MM-DD. Free text may cite evidence as [evidence-id].
format: 1
id: todo-account-{year}-{month:02d}      # a slug: lower-case letters, digits, . _ -
tier: {tier}
prepared_on: {today}
prepared_by: TODO who qualified this opportunity
# provider: TODO who delivered the handoff (a lead-generation provider, an SDR team)
seller:                                  # who receives the brief (the default e-mail recipient)
  name: TODO seller's name
  email: seller@example.com
account:
  name: TODO company name
  website: https://example.com
  industry: TODO industry
  size: TODO e.g. 420 employees
  location: TODO city, country
  # description: TODO one paragraph on what the company does
contacts:                                # at least one; mark the main one primary
  - name: TODO contact's name
    title: TODO job title
    email: contact@example.com
    phone: "+1 555 0100"                 # quote phone numbers
    # linkedin: https://www.linkedin.com/in/...
    role: TODO e.g. champion, economic buyer
    primary: true
next_action:                             # if the next action is unclear, the handoff is not ready
  action: TODO one concrete step, starting with a verb (not "follow up")
  owner: TODO who does it
  with: TODO which contact
  # due: YYYY-MM-DD                      # required: by when
  why: TODO why now, citing evidence like [evidence-1]
fit:                                     # why this passed: each reason cites evidence ids
  - reason: TODO a concrete reason this account fits
    evidence: []                         # e.g. [evidence-1]
evidence:                                # known (with a source) or inferred (confidence, basis)
  - id: evidence-1
    fact: TODO a fact
    status: known                        # known | inferred
    source: TODO where it comes from (a page, a call, a database)
    # url: https://example.com/page
    # checked_on: YYYY-MM-DD
  - id: evidence-2
    fact: TODO something inferred
    status: inferred
    confidence: medium                   # low | medium | high
    basis: TODO the reasoning behind the inference
disqualifiers:                           # what was checked before passing it on
  - check: Existing customer
    result: unknown                      # clear | flagged | unknown
    how: TODO how it was checked (e.g. CRM account search)
  - check: Do-not-contact list
    result: unknown
uncertainties:                           # what is known to be unknown
  - TODO e.g. the budget owner is not confirmed
# summary: TODO one short paragraph, citing evidence as [evidence-1]
# score: 81                              # an upstream score; never a reason on its own
# crm:                                   # record ids to attach the brief to
#   salesforce: {{record: 0065g00000AbCdEAAV}}
#   hubspot: {{company: "18230941", deal: "99120331"}}
#   pipedrive: {{org: "42", deal: "7"}}
# notes: TODO anything else (Markdown)
# extra: {{source_list: TODO}}           # free-form key/value pairs
"""

_ENGAGEMENT = """\
engagement:                              # how the contact was engaged, and how they answered
  approach: TODO e.g. a two-step e-mail sequence on their hiring
  response: TODO the response signal (a reply, a request, an accepted meeting)
  stage: TODO where the conversation stands
  touches:
    - date: {today}
      channel: email
      summary: TODO what was sent or said
"""

_CALL = """\
call:                                    # the qualification call
  date: {today}
  attendees: [TODO contact's name, TODO who called]
  notes: |
    TODO what was said, citing evidence like [evidence-1] (Markdown)
  objections:                            # [] means none were raised
    - objection: TODO an objection raised
      response: TODO how it was answered
      status: open                       # open | addressed
  timing: TODO the buying timeline
  why_serious: TODO why this is serious enough for the next sales step
"""


def starter(tier: Tier, file_name: str, today: dt.date) -> str:
    """The starter text for `tier`, naming `file_name` in its check hint."""
    values = {"tier": tier, "file": file_name, "today": today.isoformat(),
              "year": today.year, "month": today.month}
    text = _COMMON.format(**values)
    if tier in ("warmed", "call-qualified"):
        text += _ENGAGEMENT.format(**values)
    if tier == "call-qualified":
        text += _CALL.format(**values)
    return text
