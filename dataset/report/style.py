"""The stylesheet of ``report.html`` (kept apart so the page code stays readable)."""

CSS = """
:root { --ink:#1d2731; --muted:#6b7785; --line:#e3e8ee; --accent:#1f6f8b; --warn:#b5542d; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:#f6f8fa; }
header { background:var(--ink); color:#fff; padding:18px 32px; position:sticky; top:0; z-index:1; }
header h1 { margin:0 0 6px; font-size:20px; font-weight:600; }
header h1 span { color:#9db4c0; font-weight:400; margin-left:8px; }
nav a { color:#cfe3ec; margin-right:16px; text-decoration:none; font-size:13px; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:8px;
          padding:16px 22px; margin-top:18px; }
h2 { font-size:17px; margin:0 0 12px; color:var(--accent); }
h3 { font-size:14px; margin:10px 0 6px; }
h3 small { color:var(--muted); font-weight:400; margin-left:6px; }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin-bottom:12px; }
.card { background:#f0f5f8; border-radius:6px; padding:10px 16px; min-width:140px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; margin:6px 0 12px; font-size:13px; }
table.narrow { min-width:320px; }
table.bad { width:100%; }
th, td { text-align:left; padding:4px 10px; border-bottom:1px solid var(--line); }
th { background:#f0f5f8; font-weight:600; }
td { word-break:break-all; }
.charts { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:10px; }
.chart img.plot { max-width:100%; }
.pairs { display:flex; flex-wrap:wrap; gap:14px; }
.pair { display:flex; gap:4px; padding:6px; border:1px solid var(--line); border-radius:6px; }
figure { margin:0; text-align:center; }
figure img, .na { width:112px; height:112px; object-fit:contain; background:#fafafa;
                  border-radius:4px; display:block; }
figure.kept img { outline:3px solid var(--accent); outline-offset:-3px; }
.na { line-height:112px; color:var(--muted); }
figcaption { font-size:11px; color:var(--muted); }
.grid { margin-bottom:8px; }
.grid .row { display:flex; gap:6px; flex-wrap:wrap; }
.warn { color:var(--warn); }
.chips { line-height:2; }
.chip { background:#f0f5f8; border-radius:10px; padding:2px 8px; margin-right:4px;
        font-size:12px; white-space:nowrap; }
"""
