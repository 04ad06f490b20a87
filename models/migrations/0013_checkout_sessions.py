from tortoise import migrations
from tortoise.migrations import operations as ops
from models.ids import new_cks_id
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0012_stripe')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckoutSession',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_cks_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='checkout_sessions', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('subscription', fields.OneToOneField('portal.Subscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='checkout_session', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('return_url', fields.CharField(default='', max_length=1000)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'checkout_session', 'app': 'portal', 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
    ]
