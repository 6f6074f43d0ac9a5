"""Dagster assets, one module per stage: ingest, quality, compliance, plans, publish."""

import dagster as dg


def markdown_list(lines) -> dg.MetadataValue:
    """Asset-check metadata listing what went wrong, one item a line, or `none`."""
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "none")
