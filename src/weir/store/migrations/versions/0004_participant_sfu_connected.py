"""participant sfu_connected_at (sessions that never reach the SFU expire)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 18:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sfu_connected_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('session_participants', schema=None) as batch_op:
        batch_op.drop_column('sfu_connected_at')
