from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import DocumentKind
from models.ids import new_doc_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('portal', '0013_checkout_sessions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StoredDocument',
            fields=[
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, default=new_doc_id, unique=True, db_index=True, max_length=40)),
                ('business', fields.ForeignKeyField('portal.Business', source_field='business_id', db_constraint=True, to_field='id', related_name='stored_documents', on_delete=OnDelete.CASCADE)),
                ('livemode', fields.BooleanField()),
                ('kind', fields.CharEnumField(description='INVOICE: invoice\nCREDIT_NOTE: credit_note', enum_type=DocumentKind, max_length=16)),
                ('document_id', fields.CharField(max_length=40)),
                ('state', fields.CharField(default='', max_length=24)),
                ('locale', fields.CharField(max_length=16)),
                ('template_version', fields.IntField()),
                ('content', fields.BinaryField(null=True)),
                ('etag', fields.CharField(default='', max_length=70)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'stored_document', 'app': 'portal', 'unique_together': (('document_id', 'state', 'locale', 'template_version'),), 'indexes': [Index(fields=['next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Timestamped'],
        ),
    ]
