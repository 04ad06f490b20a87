from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_ch_id, new_seti_id, new_tok_id
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SandboxCard',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_tok_id, unique=True, db_index=True, max_length=40)),
                ('brand', fields.CharField(max_length=20)),
                ('last4', fields.CharField(max_length=4)),
                ('exp_month', fields.IntField()),
                ('exp_year', fields.IntField()),
                ('fingerprint', fields.CharField(max_length=64)),
                ('behaviour', fields.CharField(max_length=32)),
                ('reference', fields.CharField(default='', max_length=100)),
                ('attached_to', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'sandbox_card', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A tokenised card. `behaviour` says what charging it does (succeeds, card_declined, …, requires_action).'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SandboxCharge',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_ch_id, unique=True, db_index=True, max_length=40)),
                ('idempotency_key', fields.CharField(unique=True, max_length=200)),
                ('request_fingerprint', fields.CharField(max_length=64)),
                ('card', fields.ForeignKeyField('portal.SandboxCard', source_field='card_id', db_constraint=True, to_field='id', related_name='charges', on_delete=OnDelete.CASCADE)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharField(max_length=32)),
                ('error_code', fields.CharField(default='', max_length=64)),
                ('return_url', fields.CharField(default='', max_length=1000)),
                ('refunded_amount', fields.BigIntField(default=0)),
            ],
            options={'table': 'sandbox_charge', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'A charge. Its idempotency key is unique, so a repeated request finds the first charge instead of a second.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='SandboxSetup',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_seti_id, unique=True, db_index=True, max_length=40)),
                ('reference', fields.CharField(max_length=100)),
                ('return_url', fields.CharField(max_length=1000)),
                ('card', fields.ForeignKeyField('portal.SandboxCard', source_field='card_id', null=True, db_constraint=True, to_field='id', related_name='setups', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'sandbox_setup', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'One visit to the hosted "add a card" page: where to send the customer back, and for whom.'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Business',
            name='tax_rate_bp',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Payment',
            name='next_action_url',
            field=fields.CharField(default='', max_length=1000),
        ),
        ops.AddField(
            model_name='Payment',
            name='request_fingerprint',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AddField(
            model_name='Payment',
            name='updated_at',
            field=fields.DatetimeField(auto_now=True, auto_now_add=False),
        ),
    ]
