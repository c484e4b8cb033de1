"""call stats: participant stats timelines and call stats reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('participant_stats',
    sa.Column('user_session_id', sa.String(length=64), nullable=False),
    sa.Column('call_cid', sa.String(length=200), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timeline', sa.JSON(), nullable=False),
    sa.Column('tracks', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['call_cid'], ['calls.cid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_session_id')
    )
    op.create_index(op.f('ix_participant_stats_call_cid'), 'participant_stats', ['call_cid'], unique=False)
    op.create_index(op.f('ix_participant_stats_session_id'), 'participant_stats', ['session_id'], unique=False)
    op.create_table('call_stats_reports',
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('call_cid', sa.String(length=200), nullable=False),
    sa.Column('call_type', sa.String(length=64), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('participants_count', sa.Integer(), nullable=False),
    sa.Column('quality', sa.String(length=16), nullable=False),
    sa.Column('issues', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_cid'], ['calls.cid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id')
    )
    op.create_index(op.f('ix_call_stats_reports_call_cid'), 'call_stats_reports', ['call_cid'], unique=False)
    op.create_index(op.f('ix_call_stats_reports_started_at'), 'call_stats_reports', ['started_at'], unique=False)
    op.create_index(op.f('ix_call_stats_reports_created_at'), 'call_stats_reports', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('call_stats_reports')
    op.drop_table('participant_stats')
