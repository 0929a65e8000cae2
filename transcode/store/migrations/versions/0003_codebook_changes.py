"""codebook changes: how each codebook version came from the one before, and the recode queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 12:50:00

``transcode codebook apply`` renames, merges, splits and retires domains. The new version records
its operations (``codebook.changes``); units whose domain was split wait in ``codebook_recode``
for the judge who coded them (or the team's consensus) to code them again. Versions stored
before this change have no changes (they were given whole to ``transcode init``). On PostgreSQL
the recode queue gets its row-level security policy (a judge reads only their own rows while a
case is independent) and every registered person's role may read it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("codebook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    op.create_table(
        "codebook_recode",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=True),
        sa.Column("codebook_version", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=100), nullable=False),
        sa.Column("into", sa.JSON(), nullable=False),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["judge_id"], ["judge.id"], name=op.f("fk_codebook_recode_judge_id_judge"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["thought_unit.id"],
            name=op.f("fk_codebook_recode_unit_id_thought_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codebook_recode")),
    )
    with op.batch_alter_table("codebook_recode", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_codebook_recode_unit_id"), ["unit_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from transcode.store import security

        security.install_policies(bind)
        roles = bind.execute(sa.text("SELECT db_role FROM judge WHERE db_role IS NOT NULL")).scalars()
        for role in roles:
            if security.role_exists(bind, role):
                quoted = bind.dialect.identifier_preparer.quote_identifier(role)
                bind.execute(sa.text(f"GRANT SELECT ON codebook_recode TO {quoted}"))


def downgrade() -> None:
    with op.batch_alter_table("codebook_recode", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_codebook_recode_unit_id"))
    op.drop_table("codebook_recode")
    with op.batch_alter_table("codebook", schema=None) as batch_op:
        batch_op.drop_column("changes")
