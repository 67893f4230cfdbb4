"""The auditor's evidence pack: one zip that answers "show me how you ran this campaign".

:func:`outreach.evidence.pack.build_pack` writes it entry by entry into any file object (a file, or the
web app's download stream), so memory does not grow with the campaign; :mod:`outreach.evidence.archive`
hashes every entry for the manifest, :mod:`outreach.evidence.parts` writes the parts from the read model
through the product's own helpers (survey views, facts, reports, scorecards, the audit trail).
"""
