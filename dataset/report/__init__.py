"""``report.html``: the page a maintainer reads before trusting a dataset version."""
