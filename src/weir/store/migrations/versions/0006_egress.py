"""egress: recording jobs, finished recordings, and each call's egress status

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('calls', sa.Column('egress_status', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table('egress_jobs',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('call_cid', sa.String(length=200), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('recording_type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('external_storage', sa.String(length=255), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('worker_id', sa.String(length=128), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_egress_jobs_call_cid', 'egress_jobs', ['call_cid'], unique=False)
    op.create_index('ix_egress_jobs_status', 'egress_jobs', ['status', 'lease_until'], unique=False)
    op.create_table('recordings',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('call_cid', sa.String(length=200), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('egress_id', sa.String(length=64), nullable=False),
    sa.Column('recording_type', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('storage', sa.String(length=255), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_recordings_call_cid', 'recordings', ['call_cid'], unique=False)
    op.create_index('ix_recordings_egress_id', 'recordings', ['egress_id'], unique=False)
    op.create_index('ix_recordings_file', 'recordings', ['call_cid', 'session_id', 'filename'], unique=True)


def downgrade() -> None:
    op.drop_table('recordings')
    op.drop_table('egress_jobs')
    op.drop_column('calls', 'egress_status')
