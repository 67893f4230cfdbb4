"""The product's pure core: facts about surveys and campaigns, derived once by plain functions over plain
data (no Temporal, no database, no I/O), and read by every face."""
