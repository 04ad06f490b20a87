from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_sac_id, new_scu_id, new_sev_id, new_sin_id
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0011_sealed_email_context')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StripeAccount',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_sac_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='stripe_accounts', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('sealed_secret_key', fields.TextField(unique=False)),
                ('sealed_webhook_secret', fields.TextField(unique=False)),
                ('publishable_key', fields.CharField(max_length=255)),
                ('connected_account', fields.CharField(default='', max_length=64)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'stripe_account', 'app': 'portal', 'unique_together': (('business', 'livemode'),), 'pk_attr': 'id', 'table_description': "A business's Stripe credentials for one mode (test keys for test mode, live keys for live mode)."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='StripeCustomer',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_scu_id, unique=True, db_index=True, max_length=40)),
                ('customer', fields.OneToOneField('portal.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='stripe_customer', on_delete=OnDelete.CASCADE)),
                ('stripe_id', fields.CharField(max_length=64)),
            ],
            options={'table': 'stripe_customer', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'The Stripe Customer (`cus_…` at Stripe) standing for one customer record, made on first need.'},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='StripeEvent',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_sev_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='stripe_events', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('event_id', fields.CharField(max_length=255)),
                ('type', fields.CharField(max_length=100)),
                ('data', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('handled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'stripe_event', 'app': 'portal', 'unique_together': (('business', 'event_id'),), 'indexes': [Index(fields=['handled_at', 'created_at'])], 'pk_attr': 'id', 'table_description': "An event Stripe sent to a business's webhook route, verified and recorded once by its id. The worker"},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='StripeIntent',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_sin_id, unique=True, db_index=True, max_length=40)),
                ('idempotency_key', fields.CharField(unique=True, max_length=200)),
                ('request_fingerprint', fields.CharField(max_length=64)),
                ('payment_intent', fields.CharField(default='', max_length=64)),
                ('claimed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'stripe_intent', 'app': 'portal', 'pk_attr': 'id', 'table_description': 'The PaymentIntent made for one of our idempotency keys. The row is claimed before Stripe is asked, so of'},
            bases=['Timestamped'],
        ),
        ops.AddField(
            model_name='Payment',
            name='disputed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
