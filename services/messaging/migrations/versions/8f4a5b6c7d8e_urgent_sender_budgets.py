"""sender_budgets.urgent_until: an emergency's batch waiting for a sender's tokens holds the
ordinary ones back until then

Revision ID: 8f4a5b6c7d8e
Revises: 7e3f4a5b6c7d
Create Date: 2026-12-06 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '8f4a5b6c7d8e'
down_revision: Union[str, None] = '7e3f4a5b6c7d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('sender_budgets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent_until', sa.Float(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sender_budgets', schema=None) as batch_op:
        batch_op.drop_column('urgent_until')
