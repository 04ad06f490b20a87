from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import Scope
from models.ids import new_ect_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('portal', '0003_plan_changes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CreditNoteSequence',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='credit_note_sequences', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('next_number', fields.BigIntField(default=1)),
            ],
            options={'table': 'credit_note_sequence', 'app': 'portal', 'unique_together': (('business', 'livemode'),), 'pk_attr': 'id', 'table_description': "The next credit-note number of a business in a mode: a sequence of its own, apart from the invoices'."},
            bases=['Timestamped'],
        ),
        ops.CreateModel(
            name='EmailChangeToken',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_ect_id, unique=True, db_index=True, max_length=40)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('scope', fields.CharEnumField(description='BUSINESS: business\nUNIFIED: unified', enum_type=Scope, max_length=16)),
                ('livemode', fields.BooleanField()),
                ('old_email', fields.CharField(max_length=254)),
                ('new_email', fields.CharField(max_length=254)),
                ('session', fields.ForeignKeyField('portal.PortalSession', source_field='session_id', null=True, db_constraint=True, to_field='id', related_name='email_change_tokens', on_delete=OnDelete.SET_NULL)),
                ('customer', fields.ForeignKeyField('portal.Customer', source_field='customer_id', null=True, db_constraint=True, to_field='id', related_name='email_change_tokens', on_delete=OnDelete.CASCADE)),
                ('locale', fields.CharField(default='', max_length=16)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_change_token', 'app': 'portal', 'pk_attr': 'id', 'table_description': "A one-use link, sent to `new_email`, that moves the requesting session's customer records from `old_email`."},
            bases=['Timestamped'],
        ),
        ops.AlterModelOptions(
            name='Refund',
            options={'table': 'refund', 'app': 'portal', 'unique_together': (('business', 'livemode', 'credit_note_number'),), 'indexes': [Index(fields=['customer_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Money given back on a payment. A succeeded refund carries a credit note: its own gap-free number, the invoice'},
        ),
        ops.AddField(
            model_name='Refund',
            name='credit_note_number',
            field=fields.CharField(null=True, max_length=40),
        ),
        ops.AddField(
            model_name='Refund',
            name='invoice',
            field=fields.ForeignKeyField('portal.Invoice', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Refund',
            name='issued_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Refund',
            index=Index(fields=['customer_id', 'created_at']),
        ),
        ops.AddConstraint(
            model_name='Refund',
            constraint=UniqueConstraint(fields=('business', 'livemode', 'credit_note_number'), name=None),
        ),
    ]
