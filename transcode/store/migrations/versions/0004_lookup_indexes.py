"""lookup indexes: thought units by transcript and by key, transcripts by case, units by turn

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:30:00.000000

What the query plans of the coding room, the exports and ``record_decisions`` showed as full
scans of ``thought_unit`` (and of ``transcript`` per case): every keypress found its unit by
``key`` and every export read each transcript's units by ``transcript_id``.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_thought_unit_transcript_id", "thought_unit", ["transcript_id", "position"]),
    ("ix_thought_unit_key", "thought_unit", ["key"]),
    ("ix_thought_unit_turn_id", "thought_unit", ["turn_id"]),
    ("ix_transcript_case_id", "transcript", ["case_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
