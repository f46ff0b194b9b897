"""scheduled sends, quiet hours and emergencies: a communication's send_at, audience size,
time zones, quiet hours and emergency; a delivery's held_until

Revision ID: 6d2e3f4a5b6c
Revises: 5c1d2e3f4a5b
Create Date: 2026-12-04 20:15:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '6d2e3f4a5b6c'
down_revision: Union[str, None] = '5c1d2e3f4a5b'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('communications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('audience_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('timezones', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('quiet_hours', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('emergency', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('emergency_reason', sa.String(length=300),
                                      nullable=True))
        batch_op.create_index('ix_communications_scheduled', ['status', 'send_at'],
                              unique=False)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('held_until')
    with op.batch_alter_table('communications', schema=None) as batch_op:
        for column in ('emergency_reason', 'emergency', 'quiet_hours', 'timezones'):
            batch_op.drop_column(column)
        batch_op.drop_index('ix_communications_scheduled')
        batch_op.drop_column('audience_size')
        batch_op.drop_column('send_at')
