"""blind coding: study phases per case, judges as people, assignments, the event trail, study settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 09:16:41.062660

An existing study is brought into the phases as the issue asks: a case that already holds
consensus codes starts in ``consensus``, every other case in ``independent``. Every judge who has
coded in a case is assigned to it (finished when they have coded every unit of it), and each
case's starting phase is written to the event trail. On PostgreSQL the row-level security
policies are installed too (as ``transcode init`` does), so a team store upgraded by any command
is protected.
"""

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MIGRATION = "migration 0002: cases with consensus codes start in consensus, the others in independent"


def upgrade() -> None:
    op.create_table(
        "study_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name=op.f("fk_study_setting_project_id_project"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_setting")),
        sa.UniqueConstraint("project_id", "key", name=op.f("uq_study_setting_project_id")),
    )
    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_.id"], name=op.f("fk_assignment_case_id_case_"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["judge_id"], ["judge.id"], name=op.f("fk_assignment_judge_id_judge"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
        sa.UniqueConstraint("judge_id", "case_id", name=op.f("uq_assignment_judge_id")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_case_id"), ["case_id"], unique=False)
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("db_user", sa.String(length=63), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["judge.id"], name=op.f("fk_event_actor_id_judge")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_.id"], name=op.f("fk_event_case_id_case_"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_event_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_kind"), ["kind"], unique=False)
    with op.batch_alter_table("case_", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phase", sa.String(length=20), server_default="independent", nullable=False)
        )
    with op.batch_alter_table("code_decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggestions_shown", sa.Boolean(), nullable=True))
    with op.batch_alter_table("judge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("db_role", sa.String(length=63), nullable=True))
    _existing_studies_enter_their_phases()
    if op.get_bind().dialect.name == "postgresql":  # a team store upgraded by any command is protected
        from transcode.store import security

        security.install_policies(op.get_bind())


def _existing_studies_enter_their_phases() -> None:
    from transcode.coding.codes import current_codes

    bind = op.get_bind()
    case_ = sa.table("case_", sa.column("id"), sa.column("project_id"), sa.column("phase"))
    unit = sa.table("thought_unit", sa.column("id"), sa.column("case_id"))
    consensus = sa.table("consensus_code", sa.column("unit_id"))
    judge = sa.table("judge", sa.column("id"), sa.column("role"))
    decision = sa.table(
        "code_decision",
        sa.column("id"),
        sa.column("unit_id"),
        sa.column("judge_id"),
        sa.column("domain"),
        sa.column("action"),
    )
    assignment = sa.table(
        "assignment",
        sa.column("judge_id"),
        sa.column("case_id"),
        sa.column("assigned_at"),
        sa.column("finished_at"),
    )
    event = sa.table(
        "event",
        sa.column("project_id"),
        sa.column("created_at"),
        sa.column("kind"),
        sa.column("case_id"),
        sa.column("details", sa.JSON()),
    )
    now = datetime.now(UTC)
    agreed = sa.select(unit.c.case_id).join(consensus, consensus.c.unit_id == unit.c.id)
    bind.execute(sa.update(case_).where(case_.c.id.in_(agreed)).values(phase="consensus"))

    units_of: dict[int, set[int]] = defaultdict(set)
    for unit_id, case_id in bind.execute(sa.select(unit.c.id, unit.c.case_id)):
        units_of[case_id].add(unit_id)
    logs: dict[tuple[int, int], list] = defaultdict(list)
    rows = bind.execute(
        sa.select(
            decision.c.judge_id, unit.c.case_id, decision.c.unit_id, decision.c.domain, decision.c.action
        )
        .join(unit, unit.c.id == decision.c.unit_id)
        .join(judge, judge.c.id == decision.c.judge_id)
        .where(judge.c.role != "auditor")
        .order_by(decision.c.id)
    )
    for judge_id, case_id, unit_id, domain, action in rows:
        logs[(judge_id, case_id)].append((unit_id, domain, action))
    for (judge_id, case_id), log in sorted(logs.items()):
        coded = {u for u, codes in current_codes(log).items() if codes}
        finished = now if coded >= units_of[case_id] else None
        bind.execute(
            sa.insert(assignment).values(
                judge_id=judge_id, case_id=case_id, assigned_at=now, finished_at=finished
            )
        )
    for case_id, project_id, phase in bind.execute(sa.select(case_.c.id, case_.c.project_id, case_.c.phase)):
        bind.execute(
            sa.insert(event).values(
                project_id=project_id,
                created_at=now,
                kind="phase",
                case_id=case_id,
                details={"from": None, "to": phase, "override": False, "reason": MIGRATION},
            )
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from transcode.store import security

        for table, name, *_ in security.POLICIES:
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        for table in sorted({table for table, *_ in security.POLICIES}):
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    with op.batch_alter_table("judge", schema=None) as batch_op:
        batch_op.drop_column("db_role")
    with op.batch_alter_table("code_decision", schema=None) as batch_op:
        batch_op.drop_column("suggestions_shown")
    with op.batch_alter_table("case_", schema=None) as batch_op:
        batch_op.drop_column("phase")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_kind"))
        batch_op.drop_index(batch_op.f("ix_event_case_id"))
    op.drop_table("event")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_case_id"))
    op.drop_table("assignment")
    op.drop_table("study_setting")
