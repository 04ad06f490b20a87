from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0008_subscription_request_fingerprint')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailCodeBudget',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(max_length=254)),
                ('livemode', fields.BooleanField()),
                ('failures', fields.IntField(default=0)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('paused_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_code_budget', 'app': 'portal', 'unique_together': (('email', 'livemode'),), 'pk_attr': 'id', 'table_description': 'The wrong sign-in codes typed for one email in one mode, through any business or the unified portal, since'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='LoginToken',
            name='minted_by',
            field=fields.ForeignKeyField('portal.ApiKey', source_field='minted_by_id', null=True, db_constraint=True, to_field='id', related_name='minted_links', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='PortalSession',
            name='link',
            field=fields.ForeignKeyField('portal.LoginToken', source_field='link_id', null=True, db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE),
        ),
    ]
