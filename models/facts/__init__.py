"""The pure core: what the product states about a survey, a supplier or a campaign, derived once.

Plain functions over plain data (records from the read model or the workflow's own state: anything
with the attributes named), with no Temporal, no database and no clock inside. Every face (workflow,
read model, scorecard, report, pages, CLI, API, emails) calls these instead of deriving a fact again.

- ``models.facts.survey``: a survey's verdicts, the declaration that counts, its outcome and standing.
- ``models.facts.figures``: the Conflict Minerals Report's figures: what each count means, its denominator,
  and how a share is said.
"""
