"""The diagnostic page's template and stylesheet (`diagnose_report` fills and renders them).

They live here, not in `templates/` and `styles/`: those are the briefs' look, which
`templates DIR` copies for editing and a brand overrides; the diagnostic has one look.
The page loads nothing: its Content-Security-Policy allows inline styles only.
"""

CSS = """
:root { --accent: #1d4f91; --error: #b91c1c; --warning: #b45309; --ink: #1f2933;
  --muted: #6b7280; --rule: #e5e7eb; --soft: #f3f6fa; }
@page { size: A4; margin: 14mm 13mm 15mm 13mm;
  @bottom-left { content: "Handoff diagnostic"; font: 7pt "DejaVu Sans", sans-serif;
    color: #6b7280; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
    font: 7pt "DejaVu Sans", sans-serif; color: #6b7280; } }
html { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 8.4pt;
  line-height: 1.35; color: var(--ink); overflow-wrap: break-word; }
body { margin: 0; }
@media screen {
  html { font-size: 10pt; background: #f3f4f6; }
  body { max-width: 68rem; margin: 1.5rem auto; padding: 1.5rem 2rem 2rem; background: #fff;
    border: 1px solid var(--rule); border-radius: 6px; }
}
.questions { display: grid; grid-template-columns: 1fr 1fr; gap: 0.9rem; }
h1, h2, h3 { margin: 0; line-height: 1.2; }
h1 { font-size: 17pt; color: #111827; }
h2 { font-size: 9pt; text-transform: uppercase; letter-spacing: 0.06em; color: var(--accent);
  border-bottom: 1px solid #d1d5db; padding-bottom: 0.15em; margin: 1.3em 0 0.5em;
  break-after: avoid; }
h3 { font-size: 10pt; color: #111827; margin-bottom: 0.35em; }
p { margin: 0 0 0.4em; }
code, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
header.top { border-bottom: 2px solid var(--accent); padding-bottom: 0.4em; }
header.top .meta { color: var(--muted); margin: 0.2em 0 0; }
.tiles { margin: 0.9em 0 0.6em; }
.tile { display: inline-block; vertical-align: top; width: 23%; box-sizing: border-box;
  margin-right: 1.5%; padding: 0.45em 0.7em; background: var(--soft);
  border-left: 4px solid var(--accent); }
.tile:last-child { margin-right: 0; }
.tile b { display: block; font-size: 16pt; line-height: 1.15; color: #0b2545; }
.tile span { color: #4b5563; font-size: 0.92em; }
.tile.good { border-left-color: #047857; }
.tile.good b { color: #065f46; }
.tile.bad { border-left-color: var(--error); }
.tile.bad b { color: var(--error); }
.verdict { font-size: 1.12em; line-height: 1.45; margin: 0.5em 0 0; }
.card { border: 1px solid var(--rule); border-radius: 4px; padding: 0.6em 0.75em 0.5em;
  break-inside: avoid; }
/* fixed layout: column widths from the first row, not from measuring every cell (fast in
   WeasyPrint over hundreds of rows) */
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; vertical-align: top; padding: 0.22em 0.45em;
  border-bottom: 1px solid var(--rule); }
thead th { font-size: 0.86em; color: #4b5563; border-bottom: 1px solid #9ca3af;
  vertical-align: bottom; }
tr { break-inside: avoid; }
td.num, th.num { text-align: right; }
.w6 { width: 6%; } .w8 { width: 8%; } .w10 { width: 10%; } .w16 { width: 16%; } .w18 { width: 18%; }
.w24 { width: 24%; } .w30 { width: 30%; }
table.measures th { font-weight: normal; padding-left: 0; }
table.measures .def { display: block; color: var(--muted); font-size: 0.86em; }
table.measures td.value { text-align: right; font-weight: bold; font-size: 1.15em;
  color: #0b2545; white-space: nowrap; width: 3.6em; }
table.measures td.detail { color: var(--muted); font-size: 0.86em; white-space: nowrap;
  width: 9.5em; text-align: right; padding-right: 0; }
figure { margin: 0.5em 0 0.3em; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; display: block; }
@media screen { figure svg { width: 100%; max-width: 50rem; } }
figure.ages { width: 62%; margin-top: 0.9em; }
figcaption { color: var(--muted); font-size: 0.86em; margin-top: 0.2em; }
table.groups thead th { font-size: 0.8em; overflow-wrap: normal; }
table.groups td.ready { font-weight: bold; }
table.groups tr.rest td, table.groups tr.rest th { color: var(--muted); font-style: italic; }
.level { white-space: nowrap; font-size: 0.78em; font-weight: bold; text-transform: uppercase;
  letter-spacing: 0.04em; }
.level.error, .f.error { color: var(--error); }
.level.warning, .f.warning { color: var(--warning); }
.level.invalid { color: #7c2d12; }
table.rules td.when { color: #4b5563; font-size: 0.9em; }
table.rules td.fix { font-size: 0.9em; }
table.back td.findings { font-size: 0.9em; }
.f { font-family: "DejaVu Sans Mono", monospace; font-size: 0.92em; }
.path { color: var(--muted); font-family: "DejaVu Sans Mono", monospace; font-size: 0.88em; }
.note { color: var(--muted); font-size: 0.9em; }
footer { margin-top: 1.5em; border-top: 1px solid var(--rule); padding-top: 0.4em;
  color: var(--muted); font-size: 0.86em; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'">
<title>Handoff diagnostic: {{ ready_share }} of {{ checked }} ready</title>
<style>{{ css }}</style>
</head>
<body>
<header class="top">
<h1>Handoff diagnostic</h1>
<p class="meta">{{ read }} handoffs read &middot; readiness policy {{ policy }} &middot;
grouped by {{ by }} &middot; handoff-brief {{ version }}</p>
</header>

<section id="verdict">
<h2>Verdict</h2>
<div class="tiles">
<div class="tile"><b>{{ read }}</b><span>handoffs read</span></div>
<div class="tile good"><b>{{ ready_share }}</b>
<span>ready: {{ ready }} of {{ checked }} checked</span></div>
<div class="tile bad"><b>{{ not_ready }}</b><span>checked and not ready</span></div>
<div class="tile"><b>{{ set_aside }}</b>
<span>set aside ({{ set_aside_share }}): invalid, duplicate, suppressed</span></div>
</div>
<p class="verdict">{{ verdict }}</p>
</section>

<section id="questions">
<h2>The four questions, measured</h2>
<div class="questions">
{% for question in questions %}
<div class="card">
<h3>{{ question.title }}</h3>
<table class="measures">
{% for row in question.rows %}
<tr><th scope="row">{{ row.label }}<span class="def">{{ row.definition }}</span></th>
<td class="value">{{ row.value }}</td><td class="detail">{{ row.detail }}</td></tr>
{% endfor %}
</table>
</div>
{% endfor %}
</div>
{% if charts.ages %}
<figure class="ages">{{ charts.ages }}
<figcaption>Evidence age: dated facts by days from checked_on to prepared_on; amber bins
are stale.</figcaption></figure>
{% endif %}
</section>

<section id="hygiene">
<h2>Hygiene</h2>
<table class="hygiene">
<thead><tr><th class="w18">set aside</th><th class="num w10">handoffs</th>
<th class="num w10">of read</th><th>what it means</th></tr></thead>
<tbody>
{% for row in hygiene %}
<tr><th scope="row">{{ row.label }}</th><td class="num">{{ row.count }}</td>
<td class="num">{{ row.share }}</td><td>{{ row.what }}</td></tr>
{% endfor %}
</tbody>
</table>
</section>

<section id="groups">
<h2>By {{ by }}</h2>
{% if charts.groups %}
<figure>{{ charts.groups }}
<figcaption>Share of each {{ by }}'s checked handoffs that are ready, worst first
{%- if group_count > chart_groups %} (the {{ chart_groups }} worst of {{ group_count }})
{%- endif %}.</figcaption></figure>
<table class="groups">
<thead><tr><th class="w16">{{ by }}</th><th class="num">handoffs</th><th class="num">ready</th>
{% for column in group_columns %}<th class="num">{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in groups %}
<tr{% if row.label %} class="rest"{% endif %}><th scope="row">{{ row.label or row.name }}</th>
<td class="num">{{ row.handoffs }}</td><td class="num ready">{{ row.ready }}</td>
{% for cell in row.cells %}<td class="num">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p class="note">No handoff could be checked.</p>
{% endif %}
</section>

<section id="findings">
<h2>Findings</h2>
{% if rules %}
<figure>{{ charts.findings }}
<figcaption>Handoffs each rule fired on, most first.</figcaption></figure>
<table class="rules">
<thead><tr><th class="w24">rule</th><th class="w8">level</th><th class="num w10">handoffs</th>
<th class="num w6">times</th><th>when it fires</th><th>fix</th></tr></thead>
<tbody>
{% for rule in rules %}
<tr><th scope="row"><code>{{ rule.rule }}</code></th>
<td><span class="level {{ rule.level }}">{{ rule.level }}</span></td>
<td class="num">{{ rule.handoffs }} ({{ rule.share }})</td><td class="num">{{ rule.times }}</td>
<td class="when">{{ rule.when }}</td><td class="fix">{{ rule.fix }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p class="note">No rule fired: every handoff checked is clean.</p>
{% endif %}
</section>

<section id="send-back">
<h2>Send back ({{ send_back_count }})</h2>
{% if send_back %}
<p class="note">Worst first: invalid handoffs, then those not ready by errors, then warnings.</p>
<table class="back">
<thead><tr><th class="w30">handoff</th><th class="w10">status</th><th class="num w8">errors</th>
<th class="num w10">warnings</th><th>findings</th></tr></thead>
<tbody>
{% for item in send_back %}
<tr><th scope="row"><span class="mono">{{ item.position }}</span>
{%- if item.id %}<br><span class="path">{{ item.id }}</span>{% endif %}</th>
<td><span class="level {{ item.status_class }}">{{ item.status }}</span></td>
<td class="num">{{ item.errors }}</td><td class="num">{{ item.warnings }}</td>
<td class="findings">
{%- for problem in item.problems %}{{ problem }}{% if not loop.last %}<br>{% endif %}
{%- endfor %}
{%- for found in item.findings %}<span class="f {{ found.level }}">{{ found.rule }}</span>
{%- if found.times %} {{ found.times }}{% endif %}{% if not loop.last %}, {% endif %}
{%- endfor %}
{%- if item.more %} <span class="note">and {{ item.more }} more</span>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
{% if send_back_more %}
<p class="note">{{ send_back_more }} more not listed here:
<code>handoff-brief check</code> lists every one.</p>
{% endif %}
{% else %}
<p class="note">Nothing to send back: every handoff checked is ready.</p>
{% endif %}
</section>

<footer>Every number is computed from the findings of <code>handoff-brief check</code> under
the policy named above, over the handoffs checked (invalid, duplicate and suppressed ones are
set aside first, as <code>batch</code> sets them aside). A rule the policy turns off still
counts in the measures, not in the verdict.</footer>
</body>
</html>
"""
