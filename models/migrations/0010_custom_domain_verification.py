import secrets

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint


async def grandfather_existing_domains(apps, schema_editor):
    """Domains added before verification existed were serving: they stay verified, as of when they were added, so
    no business's portal goes dark on upgrade; each gets a token of its own for its TXT record."""
    CustomDomain = apps.get_model("portal", "CustomDomain")
    client = schema_editor.client
    for domain in await CustomDomain.all().using_db(client):
        await CustomDomain.filter(id=domain.id).using_db(client).update(
            verified_hostname=domain.hostname,
            verified_at=domain.created_at,
            verification_token=secrets.token_urlsafe(24),
        )


class Migration(migrations.Migration):
    dependencies = [('portal', '0009_key_revocation_code_budget')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='CustomDomain',
            options={'table': 'custom_domain', 'app': 'portal', 'unique_together': (('business', 'hostname'),), 'pk_attr': 'id', 'table_description': "A business's claim to a hostname of its own (`billing.example.com`), verified by a DNS TXT record."},
        ),
        ops.AlterField(
            model_name='CustomDomain',
            name='hostname',
            field=fields.CharField(db_index=True, max_length=253),
        ),
        ops.AddField(
            model_name='CustomDomain',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CustomDomain',
            name='last_checked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CustomDomain',
            name='next_check_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CustomDomain',
            name='verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='CustomDomain',
            name='verified_hostname',
            field=fields.CharField(null=True, unique=True, max_length=253),
        ),
        # Nullable until every existing row has a token, then required.
        ops.AddField(
            model_name='CustomDomain',
            name='verification_token',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.RunPython(grandfather_existing_domains, ops.RunPython.noop),
        ops.AlterField(
            model_name='CustomDomain',
            name='verification_token',
            field=fields.CharField(max_length=64),
        ),
        ops.AddConstraint(
            model_name='CustomDomain',
            constraint=UniqueConstraint(fields=('business', 'hostname'), name=None),
        ),
        # SQLite rebuilds the table for the AlterFields above, and tortoise's rebuild keeps no plain index: put them
        # back under the names the models give them (on PostgreSQL, which alters in place, they exist already).
        ops.RunSQL(
            [
                'CREATE INDEX IF NOT EXISTS "idx_custom_doma_created_cdfda0" ON "custom_domain" ("created_at")',
                'CREATE INDEX IF NOT EXISTS "idx_custom_doma_hostnam_d260a5" ON "custom_domain" ("hostname")',
                'CREATE INDEX IF NOT EXISTS "idx_custom_doma_next_ch_7f5518" ON "custom_domain" ("next_check_at")',
            ],
            reverse_sql=[],
        ),
    ]
