"""The pure core: what the product states about a survey, a supplier or a campaign, derived once.

Plain functions over plain data (records from the read model or the workflow's own state: anything
with the attributes named), with no Temporal, no database and no clock inside. Every face (workflow
decisions, the read model, emails, the portal, the dashboard, the CLI, the API, the reports) calls these
instead of deriving a fact its own way (DESIGN.md, "One truth, many faces").

- ``models.facts.survey``: a survey's verdicts, the declaration that counts, its outcome and standing.
- ``models.facts.correction``: what a correction request says (errors to correct, the rest apart, the count).
- ``models.facts.deadlines``: the one date by which the supplier must answer now.
- ``models.facts.figures``: the Conflict Minerals Report's figures: what each count means, its denominator,
  and how a share is said.
- ``models.facts.scorecard``: a supplier's score inputs from its records (outreach.scoring grades them).
- ``models.facts.messages``: reminders counted as the mail server accepted them.
- ``models.facts.lifecycle``: the survey lifecycle's decisions over the workflow's carried state: what
  happens next and when, where a submission takes the survey, which actions are refused and why, what
  the supplier is told, the read model's survey row and the status query.
- ``models.facts.plan``: a corrective action plan's decisions over its workflow's carried state: the
  schedule (plan due, action reminders, overdue, review cadence), which Updates are refused and why, the
  plan's result and what its emails say.
- ``models.facts.own_declaration``: the company's own CMRT rolled up from its suppliers' valid declarations
  (Q1-Q8 per metal by documented rules, the Smelter List unique by CID) and what its own answers lack.
"""
