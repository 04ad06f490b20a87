from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import TaxCategory
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('portal', '0014_stored_documents')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Product',
            options={'table': 'product', 'app': 'portal', 'pk_attr': 'id', 'table_description': "Something a business sells; without a tax category (GraphQL, the demo) it has Dodo's general one."},
        ),
        ops.AddField(
            model_name='Product',
            name='metadata',
            field=fields.JSONField(default=dict, db_default=SqlDefault("'{}'"), encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Product',
            name='tax_category',
            field=fields.CharEnumField(default=TaxCategory.DIGITAL_PRODUCTS, description='DIGITAL_PRODUCTS: digital_products\nSAAS: saas\nE_BOOK: e_book\nEDTECH: edtech\nLIVE_TUTORING: live_tutoring', db_default=TaxCategory.DIGITAL_PRODUCTS, enum_type=TaxCategory, max_length=16),
        ),
        ops.AddField(
            model_name='Product',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ProductCollection',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
        # Rows made before this migration were last changed, as far as anyone knows, when they were made.
        ops.RunSQL(
            [
                'UPDATE "product" SET "updated_at" = "created_at" WHERE "updated_at" IS NULL',
                'UPDATE "product_collection" SET "updated_at" = "created_at" WHERE "updated_at" IS NULL',
            ],
            reverse_sql=[],
        ),
    ]
