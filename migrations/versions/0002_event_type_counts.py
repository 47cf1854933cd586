"""exact per-event-type counts maintained by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARDS = 8

FUNCTION = f"""
CREATE FUNCTION events_type_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM event_type_counts;
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO event_type_counts AS c (event_type_id, shard, n)
    SELECT event_type_id, pg_backend_pid() % {SHARDS}, -count(*)
    FROM old_rows GROUP BY event_type_id ORDER BY event_type_id
    ON CONFLICT (event_type_id, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO event_type_counts AS c (event_type_id, shard, n)
    SELECT event_type_id, pg_backend_pid() % {SHARDS}, count(*)
    FROM new_rows GROUP BY event_type_id ORDER BY event_type_id
    ON CONFLICT (event_type_id, shard) DO UPDATE SET n = c.n + EXCLUDED.n;
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "event_type_counts",
        sa.Column("event_type_id", sa.String(length=64), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_type_id", "shard", name=op.f("pk_event_type_counts")),
    )
    op.execute(FUNCTION)
    for operation, transition in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER events_type_counts_{operation.lower()} AFTER {operation} ON events "
            f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION events_type_counts()"
        )
    op.execute(
        "CREATE TRIGGER events_type_counts_truncate AFTER TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION events_type_counts()"
    )
    op.execute(
        "INSERT INTO event_type_counts (event_type_id, shard, n) "
        "SELECT event_type_id, 0, count(*) FROM events GROUP BY event_type_id"
    )


def downgrade() -> None:
    for operation in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER events_type_counts_{operation} ON events")
    op.execute("DROP FUNCTION events_type_counts()")
    op.drop_table("event_type_counts")
