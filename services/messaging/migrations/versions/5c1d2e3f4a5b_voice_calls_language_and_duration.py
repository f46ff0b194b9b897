"""voice calls: each delivery's language and call rate, each call callback's duration

Revision ID: 5c1d2e3f4a5b
Revises: 33b26407bec4
Create Date: 2026-12-04 19:05:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '5c1d2e3f4a5b'
down_revision: Union[str, None] = '33b26407bec4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('seconds_per_credit', sa.Integer(), nullable=True))
    with op.batch_alter_table('provider_callbacks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_seconds', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('provider_callbacks', schema=None) as batch_op:
        batch_op.drop_column('duration_seconds')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('seconds_per_credit')
        batch_op.drop_column('language')
