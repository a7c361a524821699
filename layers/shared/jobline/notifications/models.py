"""The payloads of the e-mail and SMS jobs, checked at enqueue so a bad request is a 422, not a failed job."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from jobline.notifications import templates
from jobline.notifications.recipients import EmailRecipients, PhoneRecipients

# SES's limit on a subject is 998 characters (one header line); bodies are bounded well
# below SES's 10 MB so that one job record stays small.
MAX_SUBJECT_CHARS = 998
MAX_BODY_CHARS = 100_000
# SNS sends up to 1,600 bytes per SMS, split into parts by the carrier.
MAX_SMS_CHARS = 1_600
MAX_VARIABLES = 50

Subject = Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_CHARS, pattern=r"^[^\r\n]*$")]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS)]
VariableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
VariableValue = Annotated[str, Field(max_length=10_000)] | StrictBool | StrictInt | StrictFloat


def field_error(model: str, field: str, message: str, value: Any) -> ValidationError:
    """A validation error located at `field`, for rules that span fields (pydantic nests its location)."""
    error = InitErrorDetails(type=PydanticCustomError("invalid_content", message), loc=(field,), input=value)
    return ValidationError.from_exception_data(model, [error])


class EmailJob(BaseModel):
    """An e-mail to up to 1,000 recipients: a subject with text and/or HTML, or a template with variables."""

    model_config = ConfigDict(extra="forbid")

    recipients: EmailRecipients
    subject: Subject | None = None
    text: Body | None = None
    html: Body | None = None
    template: str | None = Field(default=None, max_length=64)
    variables: dict[VariableName, VariableValue] = Field(default_factory=dict, max_length=MAX_VARIABLES)

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
            for field in ("subject", "text", "html"):
                if getattr(self, field) is not None:
                    raise field_error("EmailJob", field, "give either a template or subject and text/html", None)
        elif self.subject is None:
            raise field_error("EmailJob", "subject", "a subject is required unless a template is given", None)
        elif self.text is None and self.html is None:
            raise field_error("EmailJob", "text", "give a text or an html body (or both)", None)
        return self

    def content(self) -> templates.RenderedEmail:
        """Subject, text and HTML as sent; an HTML-only e-mail gets a text part derived from its HTML."""
        if self.template is not None:
            return templates.get_template(self.template).render(self.variables)
        assert self.subject is not None  # the model validator guarantees it
        # SES wants a non-empty text part; an HTML body with no text at all falls back to the subject.
        text = self.text if self.text is not None else templates.html_to_text(self.html or "") or self.subject
        return templates.RenderedEmail(subject=self.subject, text=text, html=self.html)


class SmsJob(BaseModel):
    """One text message to up to 1,000 phone numbers in E.164."""

    model_config = ConfigDict(extra="forbid")

    recipients: PhoneRecipients
    message: str = Field(min_length=1, max_length=MAX_SMS_CHARS)
