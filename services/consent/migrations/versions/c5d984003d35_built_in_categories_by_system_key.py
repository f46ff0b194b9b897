"""built-in categories by system key

Revision ID: c5d984003d35
Revises: c4d5e6f7a8b9
Create Date: 2026-12-06 12:21:40.192585

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c5d984003d35'
down_revision: Union[str, None] = 'c4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_key', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_categories_organization_system_key',
                                          ['organization_id', 'system_key'])


def downgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_constraint('uq_categories_organization_system_key', type_='unique')
        batch_op.drop_column('system_key')
