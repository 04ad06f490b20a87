from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ids import new_dom_id, new_ecd_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0005_webhooks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomDomain',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_dom_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='custom_domains', on_delete=OnDelete.CASCADE)),
                ('hostname', fields.CharField(unique=True, max_length=253)),
            ],
            options={'table': 'custom_domain', 'app': 'portal', 'pk_attr': 'id', 'table_description': "A hostname of the business's own (`billing.example.com`) that serves its branded portal."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='EmailCode',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_ecd_id, unique=True, db_index=True, max_length=40)),
                ('code_hash', fields.CharField(max_length=64)),
                ('livemode', fields.BooleanField()),
                ('email', fields.CharField(max_length=254)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', null=True, db_constraint=True, to_field='id', related_name='email_codes', on_delete=OnDelete.CASCADE)),
                ('attempts', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_code', 'app': 'portal', 'indexes': [Index(fields=['email', 'livemode', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A 6-digit sign-in code for apps without a browser: emailed on request, exchanged once for a Bearer token.'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Business',
            name='cors_origins',
            field=fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Customer',
            name='metadata',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='LoginToken',
            name='flow',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='PortalSession',
            name='flow',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='PortalSession',
            name='minted_by',
            field=fields.ForeignKeyField('portal.ApiKey', source_field='minted_by_id', null=True, db_constraint=True, to_field='id', related_name='minted_sessions', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Refund',
            name='idempotency_key',
            field=fields.CharField(null=True, unique=True, max_length=300),
        ),
        ops.AddField(
            model_name='Subscription',
            name='idempotency_key',
            field=fields.CharField(null=True, unique=True, max_length=300),
        ),
        ops.AddField(
            model_name='Subscription',
            name='metadata',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
