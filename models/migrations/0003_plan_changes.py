from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ids import new_crd_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0002_payments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditEntry',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_crd_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='credit_entries', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('customer', fields.ForeignKeyField('portal.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='credit_entries', on_delete=OnDelete.CASCADE)),
                ('currency', fields.CharField(max_length=3)),
                ('amount', fields.BigIntField()),
                ('reason', fields.CharField(max_length=32)),
                ('subscription', fields.ForeignKeyField('portal.Subscription', source_field='subscription_id', null=True, db_constraint=True, to_field='id', related_name='credit_entries', on_delete=OnDelete.SET_NULL)),
                ('payment', fields.ForeignKeyField('portal.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='credit_entries', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'credit_entry', 'app': 'portal', 'indexes': [Index(fields=['customer_id', 'currency'])], 'pk_attr': 'id', 'table_description': "One movement of a customer's credit balance at a business, in one currency: positive when credit is granted"},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Invoice',
            name='credit_applied',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Invoice',
            name='discount',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Payment',
            name='credit_applied',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Payment',
            name='details',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Payment',
            name='discount',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Payment',
            name='subtotal',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Subscription',
            name='change_claimed_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Subscription',
            name='discount_cycles_remaining',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Subscription',
            name='last_change_key',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='Subscription',
            name='pause_at_next_billing_date',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Subscription',
            name='pause_cycles',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Subscription',
            name='paused_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Subscription',
            name='retention_offer_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
