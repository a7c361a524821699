"""The payloads of the e-mail and SMS jobs, checked at enqueue so a bad request is a 422, not a failed job.

Each payload takes the seeds' spelling (bee-queue's `phoneNumbers`, `to`, `templateData`;
BullMQ's `to` as one address) and Jobline's earlier one (`recipients`, `variables`), and
the job record keeps the seeds' spelling, so a job's `data` reads as its client wrote it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobline.domains.notifications import templates
from jobline.domains.notifications.recipients import OneOrMoreEmails, PhoneRecipients

# SES's limit on a subject is 998 characters (one header line); bodies are bounded well
# below SES's 10 MB so that one job record stays small.
MAX_SUBJECT_CHARS = 998
MAX_BODY_CHARS = 100_000
# SNS sends up to 1,600 bytes per SMS, split into parts by the carrier.
MAX_SMS_CHARS = 1_600
MAX_VARIABLES = 50
MAX_METADATA_KEYS = 50

Subject = Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_CHARS, pattern=r"^[^\r\n]*$")]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS)]
Label = Annotated[str, Field(min_length=1, max_length=128)]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
VariableValue = Annotated[str, Field(max_length=10_000)] | StrictBool | StrictInt | StrictFloat


def field_error(model: str, field: str, message: str, value: Any) -> ValidationError:
    """A validation error located at `field`, for rules that span fields (pydantic nests its location)."""
    error = InitErrorDetails(type=PydanticCustomError("invalid_content", message), loc=(field,), input=value)
    return ValidationError.from_exception_data(model, [error])


class NotificationJob(BaseModel):
    """What every notification payload carries besides its message: the seeds' labels of who sent it.

    `subAccountId` is the seeds' tenant. The API refuses one that is not the caller's own
    tenant; here it is only kept with the job: the job's tenant is always the token's.
    `userId`, `campaignId` and `metadata` are the caller's own labels, kept and shown as sent.
    """

    model_config = ConfigDict(extra="forbid")

    sub_account_id: Label | None = Field(default=None, alias="subAccountId")
    user_id: Label | None = Field(default=None, alias="userId")
    campaign_id: Label | None = Field(default=None, alias="campaignId")
    metadata: dict[str, JsonValue] | None = Field(default=None, max_length=MAX_METADATA_KEYS)

    @model_validator(mode="before")
    @classmethod
    def _one_spelling_per_field(cls, data: Any) -> Any:
        # Both spellings of one field is an ambiguous request, not one to settle silently.
        if isinstance(data, dict):
            for field in cls.model_fields.values():
                if isinstance(field.validation_alias, AliasChoices):
                    given = [name for name in field.validation_alias.choices if isinstance(name, str) and name in data]
                    if len(given) > 1:
                        message = f"give {given[0]} or {given[1]}, not both"
                        raise field_error(cls.__name__, given[1], message, data[given[1]])
        return data


class EmailJob(NotificationJob):
    """An e-mail to up to 1,000 recipients: a subject with text and/or HTML, or a registered template
    filled with `templateData` (a `subject` given with a template replaces the template's)."""

    recipients: OneOrMoreEmails = Field(
        validation_alias=AliasChoices("to", "recipients"),
        serialization_alias="to",
        description="one address, or a list of up to 1,000",
    )
    subject: Subject | None = None
    text: Body | None = None
    html: Body | None = None
    template: str | None = Field(default=None, max_length=64)
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict,
        max_length=MAX_VARIABLES,
        validation_alias=AliasChoices("templateData", "variables"),
        serialization_alias="templateData",
    )

    @model_validator(mode="before")
    @classmethod
    def _template_data_checked_when_absent(cls, data: Any) -> Any:
        # A template whose data is left out must still be checked for the values it needs,
        # and that error is named by the seeds' spelling.
        spelled = isinstance(data, dict) and ("templateData" in data or "variables" in data)
        if isinstance(data, dict) and data.get("template") is not None and not spelled:
            return {**data, "templateData": {}}
        return data

    @field_validator("template")
    @classmethod
    def _known_template(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                templates.get_template(name)
            except templates.TemplateError as exc:
                raise ValueError(str(exc)) from None
        return name

    @field_validator("variables")
    @classmethod
    def _fills_template(cls, variables: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("template")
        if name is not None:
            needed = templates.get_template(name).placeholders()
            missing = sorted(needed - variables.keys())
            if missing:
                raise ValueError(f"template {name!r} needs the variables: {', '.join(missing)}")
        return variables

    @model_validator(mode="after")
    def _one_kind_of_content(self) -> EmailJob:
        if self.template is not None:
            for field in ("text", "html"):
                if getattr(self, field) is not None:
                    raise field_error("EmailJob", field, "give either a template or a text/html body", None)
        elif self.subject is None:
            raise field_error("EmailJob", "subject", "a subject is required unless a template is given", None)
        elif self.text is None and self.html is None:
            raise field_error("EmailJob", "text", "give a text or an html body (or both), or a template", None)
        return self

    def content(self) -> templates.RenderedEmail:
        """Subject, text and HTML as sent; an HTML-only e-mail gets a text part derived from its HTML."""
        if self.template is not None:
            rendered = templates.get_template(self.template).render(self.variables)
            if self.subject is not None:
                return templates.RenderedEmail(subject=self.subject, text=rendered.text, html=rendered.html)
            return rendered
        assert self.subject is not None  # the model validator guarantees it
        # SES wants a non-empty text part; an HTML body with no text at all falls back to the subject.
        text = self.text if self.text is not None else templates.html_to_text(self.html or "") or self.subject
        return templates.RenderedEmail(subject=self.subject, text=text, html=self.html)


class SmsJob(NotificationJob):
    """One text message to up to 1,000 phone numbers in E.164."""

    recipients: PhoneRecipients = Field(
        validation_alias=AliasChoices("phoneNumbers", "recipients"), serialization_alias="phoneNumbers"
    )
    message: str = Field(min_length=1, max_length=MAX_SMS_CHARS)
