"""The look of the report pages: one stylesheet and the page frame around the sections.

Shared by ``report.html`` and the training evaluation pages, so they read alike. The
layout wraps to one column on a phone, never scrolls sideways (wide tables scroll inside
their own box) and never breaks a word in the middle (long paths wrap at any character
only when nothing else fits: ``overflow-wrap: anywhere``).
"""

from __future__ import annotations

from collections.abc import Sequence

from dataset.report.html import esc
from dataset.report.script import SCRIPT

CSS = """
:root { --ink:#1d2731; --muted:#5d6976; --line:#e3e8ee; --accent:#1f6f8b; --warn:#b5542d;
        --soft:#f0f5f8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:#f6f8fa; overflow-wrap:anywhere; }
header { background:var(--ink); color:#fff; padding:14px 24px; }
header h1 { margin:0 0 6px; font-size:20px; font-weight:600; }
header h1 span { color:#9db4c0; font-weight:400; margin-left:8px; }
nav { display:flex; flex-wrap:wrap; gap:4px 16px; }
nav a { color:#cfe3ec; text-decoration:none; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 24px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px;
          padding:16px 20px; margin-top:18px; min-width:0; }
h2 { font-size:17px; margin:0 0 12px; color:var(--accent); }
h3 { font-size:14px; margin:10px 0 6px; }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin-bottom:12px; }
.card { background:var(--soft); border-radius:6px; padding:10px 16px; min-width:140px; }
.card > b, .card > b > b { font-size:22px; }
.card span { display:block; color:var(--muted); font-size:12px; }
.scroll { max-width:100%; overflow-x:auto; }
table { border-collapse:collapse; margin:6px 0 12px; font-size:13px; }
table.bad { width:100%; }
th, td { text-align:left; padding:4px 10px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { background:var(--soft); font-weight:600; }
th button { font:inherit; font-weight:600; background:none; border:0; padding:0;
            cursor:pointer; color:inherit; }
th[aria-sort=ascending] button::after { content:" \\25B2"; }
th[aria-sort=descending] button::after { content:" \\25BC"; }
.charts { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:10px; }
img.plot { max-width:100%; height:auto; }
.chips { display:flex; flex-wrap:wrap; gap:6px; margin:0 0 10px; }
.chip { background:var(--soft); border-radius:10px; padding:2px 8px; font-size:12px;
        white-space:nowrap; }
.count { color:var(--muted); }
.controls { display:flex; flex-wrap:wrap; gap:8px 16px; margin:0 0 8px; font-size:13px; }
.controls select { font:inherit; max-width:100%; }
.gallery { display:grid; grid-template-columns:repeat(auto-fill, minmax(220px, 1fr));
           gap:12px; }
.gallery.wide { grid-template-columns:repeat(auto-fill, minmax(300px, 1fr)); }
.gallery.samples { grid-template-columns:repeat(auto-fill, minmax(180px, 1fr)); }
.item[hidden] { display:none; }
.gallery > .item { border:1px solid var(--line); border-radius:6px; padding:6px; min-width:0; }
.item.fallback { border-color:var(--warn); }
.item p { margin:4px 0 0; font-size:12px; }
.row { display:flex; flex-wrap:wrap; gap:4px; }
figure { margin:0; text-align:center; }
figure img, .na { width:96px; height:96px; object-fit:contain; background:#fafafa;
                  border-radius:4px; display:block; }
figure.kept img { outline:3px solid var(--accent); outline-offset:-3px; }
.na { display:flex; align-items:center; justify-content:center; color:var(--muted);
      font-size:11px; }
figcaption { font-size:11px; color:var(--muted); max-width:96px; }
.pairlist { margin:6px 0 0; padding-left:16px; font-size:12px; }
.pairlist span { display:block; }
.pairlist span + span { color:var(--muted); }
.labels { display:grid; grid-template-columns:auto 1fr; gap:0 8px; margin:6px 0 0;
          font-size:12px; }
.labels dt { color:var(--muted); }
.labels dd { margin:0; }
.labels .raw { color:var(--muted); font-style:italic; }
figure.figure { text-align:left; }
figure.figure img { width:auto; height:auto; max-width:100%; object-fit:initial; background:none; }
figure.figure figcaption { max-width:none; }
.warn { color:var(--warn); }
@media (max-width: 760px) {
  header, main { padding-left:12px; padding-right:12px; }
  section { padding:12px; }
  .charts { grid-template-columns:minmax(0, 1fr); }
  .gallery, .gallery.wide, .gallery.samples { grid-template-columns:minmax(0, 1fr); }
}
"""


def page(title: str, heading: str, subtitle: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    """A whole page: the stylesheet, a header with ``nav`` (label, anchor), ``body``, the script."""
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for label, anchor in nav)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(heading)} <span>{esc(subtitle)}</span></h1><nav>{links}</nav></header>"
        f"<main>{body}</main><script>{SCRIPT}</script></body></html>"
    )
