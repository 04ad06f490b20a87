"""Issued billing documents as stored PDF bytes: rendered once per document, state, language and template version,
then served as they are, so an issued invoice stays byte-identical however the templates, catalogs or fonts change.

A row without `content` is a render the worker owes (written in the transaction that issues the document, like an
email of the outbox); `next_attempt_at` is its lease (models.leases).
"""

from typing import TYPE_CHECKING

from tortoise import fields

from models.base import Timestamped, id_field
from models.enums import DocumentKind

if TYPE_CHECKING:
    from models.business import Business


class StoredDocument(Timestamped):
    id = id_field("doc")
    business: fields.ForeignKeyRelation["Business"] = fields.ForeignKeyField(
        "portal.Business", related_name="stored_documents"
    )
    business_id: str
    livemode = fields.BooleanField()
    kind = fields.CharEnumField(DocumentKind, max_length=16)
    # The invoice's or refund's id.
    document_id = fields.CharField(max_length=40)
    # What of the document can still change and is printed: an invoice's status (paid, refunded…); empty otherwise.
    state = fields.CharField(max_length=24, default="")
    locale = fields.CharField(max_length=16)
    template_version = fields.IntField()
    content = fields.BinaryField(null=True)
    # A strong ETag of `content`: its SHA-256, quoted.
    etag = fields.CharField(max_length=70, default="")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)

    class Meta:
        table = "stored_document"
        unique_together = (("document_id", "state", "locale", "template_version"),)
        indexes = (("next_attempt_at",),)
