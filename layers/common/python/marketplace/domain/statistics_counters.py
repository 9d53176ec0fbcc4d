"""The names of the statistics' counters (domain/statistics.py), alone: the table's model declares
one number attribute per counter, and every function loads the models, so this stays tiny."""

from __future__ import annotations

# The stages between a purchase's milestones (working days), by name: (from, to).
STAGES = {
    "to_selection": ("publication", "selection"),
    "to_confirmation": ("selection", "confirmation"),
    "to_contract": ("confirmation", "contract"),
    "to_completion": ("contract", "completion"),
    "total": ("publication", "completion"),
}

COUNTERS = (
    "published",
    "republished",  # published purchases that re-announce a failed one
    "enrollments",  # net: received minus withdrawn
    "ended",  # purchases with an outcome: confirmed, failed or cancelled (each counted once)
    "deals",  # purchases that reached confirmation (中选确认)
    "failed",
    "reannounced",  # failed purchases their owner re-announced
    "cancelled",
    "contracts",
    "completions",
    "savings_purchases",  # contracted purchases with a known ceiling
    "ceiling_fen",  # of those purchases
    "award_fen",  # their contract amounts
    "owner_evaluations",
    "owner_points",  # the sum of every rating the owners gave (1-5 each)
    "owner_ratings",  # how many ratings
    "regulator_evaluations",
    "regulator_points",
    "regulator_ratings",
    *(f"{stage}_days" for stage in STAGES),
    *(f"{stage}_count" for stage in STAGES),
)
