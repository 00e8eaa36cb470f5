"""Downloader middlewares: the politeness of every spider (budget, opt-outs, robots rules)."""
